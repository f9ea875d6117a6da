"""What management commands share: who is running them (``--actor``) and one-line failures.

A command that changes state records the operator, not "system": ``--actor NAME``, by default the
operating-system user running it (``getpass.getuser()``; ``SUDO_USER`` when run through sudo), so an
audit row says who typed the command. The services record the name and, when a Django user of that
username exists, link it.
"""

from __future__ import annotations

import getpass
import os

from django.core.management.base import CommandParser


def os_user() -> str:
    """The person at the terminal: sudo's caller if any, else the login name; "unknown" without one."""
    sudo_user = os.environ.get("SUDO_USER", "").strip()
    if sudo_user:
        return sudo_user
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry for the uid (some containers)
        return "unknown"


def add_actor_argument(parser: CommandParser) -> None:
    parser.add_argument(
        "--actor",
        default=None,
        help="Who is doing this, for the audit trail (default: the operating-system user, e.g. via sudo).",
    )


def command_actor(value: str | None) -> str:
    """The ``--actor`` value, cleaned and bounded (the audit column holds 150 characters)."""
    name = (value or "").strip() or os_user()
    return name[:150]
