"""Small HTML tables for admin's read-only fields: nested JSON (metrics, training configuration) shown
as rows a person can read rather than one wall of braces."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

MAX_LIST_ITEMS = 30  # a longer list (a feature list, bin edges) is cut with a count of the rest


def cell(value: Any) -> str:
    """One value as text: floats to 4 decimals, lists joined, None as "-"."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, list | tuple):
        shown = ", ".join(cell(v) for v in value[:MAX_LIST_ITEMS])
        rest = len(value) - MAX_LIST_ITEMS
        return f"{shown}, … ({rest} more)" if rest > 0 else shown
    return str(value)


def flatten(data: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """``{"a": {"b": 1}}`` as ``[("a.b", "1")]``, keys in their stored order."""
    rows: list[tuple[str, str]] = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            rows.extend(flatten(value, prefix=f"{name}."))
        else:
            rows.append((name, cell(value)))
    return rows


def html_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> SafeString:
    """An escaped ``<table>``; "-" when there are no rows."""
    body = format_html_join(
        "", "<tr>{}</tr>", ((format_html_join("", "<td>{}</td>", ((cell(v),) for v in row)),) for row in rows)
    )
    if not body:
        return SafeString("-")
    head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
    return format_html('<table class="vcp-json"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>', head, body)
