"""Every management command of the project has a test that runs it (a netbox-style meta-test)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APPS = ("marketdata", "modelregistry", "predictions", "monitoring", "backtesting")


def test_every_management_command_is_called_by_a_test() -> None:
    commands = sorted(
        path.stem
        for app in APPS
        for path in (ROOT / app / "management" / "commands").glob("*.py")
        if not path.stem.startswith("_")
    )
    assert len(commands) >= 12
    tests = "\n".join(p.read_text() for p in (ROOT / "tests").rglob("test_*.py"))
    untested = [name for name in commands if not re.search(rf'call_command\(\s*"{name}"', tests)]
    assert not untested, f"management commands without a test calling them: {untested}"
