"""Every message docs/troubleshooting.md quotes is one the code can still print.

The page quotes each problem's message on a line starting ``**Message:**``, in backticks; ``…`` stands
for the parts that vary. Each fixed part must be inside one string literal of the project's Python
sources: the literal parts of f-strings and of implicitly concatenated strings count as one string,
as the parser joins them, so a message wrapped over two source lines is still found.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "troubleshooting.md"
SOURCE_DIRS = ("backtesting", "common", "features", "marketdata", "modelregistry", "monitoring", "predictions")
SOURCE_DIRS += ("vcp_platform", "deploy", "scripts")


def quoted_messages(markdown: str) -> list[str]:
    """The fixed parts of every quoted message, in page order."""
    parts: list[str] = []
    for line in markdown.splitlines():
        if not line.startswith("**Message:**"):
            continue
        for quoted in re.findall(r"`([^`]+)`", line):
            parts.extend(piece.strip() for piece in quoted.split("…") if piece.strip())
    return parts


def _literals_of(tree: ast.AST) -> list[str]:
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            out.append(node.value)
    return out


@cache
def source_literals() -> tuple[str, ...]:
    literals: list[str] = []
    for directory in SOURCE_DIRS:
        for path in (ROOT / directory).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            literals.extend(_literals_of(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))))
    return tuple(literals)


def in_code(part: str) -> bool:
    return any(part in literal for literal in source_literals())


def test_the_page_quotes_the_top_twenty_problems() -> None:
    text = PAGE.read_text(encoding="utf-8")
    assert len(re.findall(r"^### \d+\. ", text, flags=re.MULTILINE)) >= 20
    assert text.count("**Message:**") >= 20
    for heading in ("## Logs and trace ids", "## Performance debugging", "## Escalation"):
        assert heading in text


def test_every_quoted_message_is_in_the_code() -> None:
    parts = quoted_messages(PAGE.read_text(encoding="utf-8"))
    assert len(parts) >= 20
    missing = [part for part in parts if not in_code(part)]
    assert not missing, f"docs/troubleshooting.md quotes messages the code no longer has: {missing}"


def test_the_check_finds_messages_split_across_source_lines_and_refuses_invented_ones() -> None:
    # "the process " and "running it was lost" sit on two lines of common/services.py's f-string.
    assert in_code("the process running it was lost (killed, out of memory, restarted).")
    assert not in_code("looks like an HTML page")
    assert quoted_messages("**Message:** `a fixed part` … `another` (or `a third`)\nnot `this`") == [
        "a fixed part",
        "another",
        "a third",
    ]
