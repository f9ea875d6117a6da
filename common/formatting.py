"""Small helpers shared by management commands and admin pages: date arguments and number display."""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any


def iso_date(value: str) -> dt.date:
    """An argparse ``type=`` for YYYY-MM-DD dates; a bad value becomes a usage error naming the option."""
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date in the form YYYY-MM-DD") from exc


def fmt_number(value: Any, pattern: str = "{:.3f}") -> str:
    """A metric for display: "-" when it is undefined (None), else formatted with ``pattern``."""
    return "-" if value is None else pattern.format(value)


def as_date(value: dt.date | str | None, *, option: str) -> dt.date | None:
    """An option's value as a date, whether argparse parsed it or ``call_command(**options)`` passed
    the raw string (keyword options skip argparse's ``type=``)."""
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return iso_date(value)
    except argparse.ArgumentTypeError as exc:
        from django.core.management import CommandError

        raise CommandError(f"{option}: {exc}") from exc


_ASCII_DIGITS = frozenset("0123456789")
MAX_INT_DIGITS = 18  # below 2**63: a larger id or page is refused before it reaches the database


def ascii_int(raw: str | None) -> int | None:
    """``raw`` as a non-negative integer when it is 1 to 18 ASCII digits, else None.

    ``str.isdigit`` accepts "²" and Arabic-Indic digits that ``int()`` then refuses or reads as another
    number; query strings are parsed with this instead."""
    if raw is None or not 0 < len(raw) <= MAX_INT_DIGITS or not set(raw) <= _ASCII_DIGITS:
        return None
    return int(raw)
