"""Every management command has one test module that runs it (a netbox-style meta-test).

The scheme (docs/architecture.md): `<app>/management/commands/<name>.py` is tested in
`tests/<app>/commands/test_<name>.py`, and that module calls `call_command("<name>", ...)`.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APPS = ("common", "marketdata", "modelregistry", "predictions", "monitoring", "backtesting")


def test_every_management_command_has_its_own_test_module_that_calls_it() -> None:
    commands = sorted(
        (app, path.stem)
        for app in APPS
        for path in (ROOT / app / "management" / "commands").glob("*.py")
        if not path.stem.startswith("_")
    )
    assert len(commands) >= 12
    missing = [
        f"tests/{app}/commands/test_{name}.py"
        for app, name in commands
        if not (ROOT / "tests" / app / "commands" / f"test_{name}.py").is_file()
    ]
    assert not missing, f"management commands without their test module: {missing}"
    not_called = [
        f"tests/{app}/commands/test_{name}.py"
        for app, name in commands
        if not re.search(
            rf'call_command\(\s*"{name}"', (ROOT / "tests" / app / "commands" / f"test_{name}.py").read_text()
        )
    ]
    assert not not_called, f"command test modules that never call their command: {not_called}"
    packages = sorted(
        app for app in {app for app, _ in commands} if not (ROOT / "tests" / app / "commands" / "__init__.py").is_file()
    )
    assert not packages, f"tests/<app>/commands/ without an __init__.py: {packages}"
    # One scheme: no second home for command tests (a test_commands.py or test_<name>_command.py elsewhere).
    stray = sorted(
        str(path.relative_to(ROOT))
        for path in (ROOT / "tests").rglob("test_*command*.py")
        if path.parent.name != "commands" and path != Path(__file__).resolve()
    )
    assert not stray, f"command tests outside tests/<app>/commands/: {stray}"
