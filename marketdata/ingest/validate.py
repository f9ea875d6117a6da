"""Row and file checks on a parsed, normalised frame (see ``frame.py`` for its columns).

Row problems (bad numbers, high < low, ...) reject the row; file problems (dates that were no
trading session, a ``--date`` that disagrees with the file) refuse the whole file.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from marketdata.calendar import CALENDAR_NAME, non_sessions
from marketdata.ingest.errors import IngestError
from marketdata.ingest.frame import PRICE_COLUMNS, RowProblems

MAX_SYMBOL_LENGTH = 64  # Instrument.symbol
MAX_SERIES_LENGTH = 4  # Instrument.series, DailyBar.series
MAX_LISTED = 20


def row_problems(frame: pd.DataFrame, problems: RowProblems) -> pd.Series:
    """Add the value checks to ``problems``; return one reason string per bad line."""
    symbol = frame["symbol"]
    problems.add(symbol == "", "symbol is missing")
    problems.add(symbol.str.len() > MAX_SYMBOL_LENGTH, f"symbol is longer than {MAX_SYMBOL_LENGTH} characters")
    series = frame["series"]
    problems.add(series.str.len() > MAX_SERIES_LENGTH, f"series {{!r}} is longer than {MAX_SERIES_LENGTH}", series)
    for name in PRICE_COLUMNS:
        problems.add(frame[name] <= 0, f"{name} price is not positive: {{}}", frame[name])
    high, low = frame["high"], frame["low"]
    problems.add(high < low, "high {} is below low {}", high, low)
    problems.add(frame["volume"] < 0, "volume is negative: {}", frame["volume"])
    for name in ("turnover", "trades"):
        problems.add(frame[name] < 0, f"{name} is negative: {{}}", frame[name])
    _duplicates(frame, problems)
    return problems.reasons()


def _duplicates(frame: pd.DataFrame, problems: RowProblems) -> None:
    # Neither copy is known to be right, so every copy is rejected.
    dup = frame.duplicated(["symbol", "date"], keep=False) & frame["date"].notna()
    if not dup.any():
        return
    copies = frame.loc[dup, ["symbol", "date", "line"]].astype({"symbol": str})
    lines = copies.groupby(["symbol", "date"])["line"].transform(lambda group: ", ".join(map(str, group)))
    problems.add(
        dup,
        "duplicate symbol-date: {} on {:%Y-%m-%d} appears on lines {}",
        copies["symbol"].reindex(frame.index),
        copies["date"].reindex(frame.index),
        lines.reindex(frame.index),
    )


def describe_rejects(reasons: pd.Series, *, rows: int, all_bad: bool = False) -> str:
    """The refusal message for a file with bad rows: the first lines and reasons, then a count."""
    listed = "; ".join(f"line {line}: {reason}" for line, reason in reasons.head(MAX_LISTED).items())
    more = f"; and {len(reasons) - MAX_LISTED} more" if len(reasons) > MAX_LISTED else ""
    if all_bad:
        return f"all {rows} equity rows are bad, so nothing was loaded: {listed}{more}. Fix the file"
    return (
        f"{len(reasons)} of {rows} equity rows are bad, so nothing was loaded: {listed}{more}. "
        "Fix the file, or rerun with --skip-bad to load the good rows and write the bad ones to a rejects CSV"
    )


def check_sessions(dates: pd.Series) -> None:
    """Refuse dates that were no NSE/BSE trading session (or that the calendar cannot judge)."""
    known = dates.dropna()
    if known.empty:
        return
    try:
        holidays = non_sessions(known.to_numpy(dtype="datetime64[D]"))
    except ValueError as exc:
        raise IngestError(str(exc)) from exc
    if holidays:
        shown = ", ".join(str(day) for day in holidays[:MAX_LISTED])
        more = f" and {len(holidays) - MAX_LISTED} more" if len(holidays) > MAX_LISTED else ""
        raise IngestError(
            f"{shown}{more} {'is' if len(holidays) == 1 else 'are'} not an NSE/BSE trading session "
            f"({CALENDAR_NAME} calendar): exchanges publish files named for holidays that repeat the previous "
            "day's bars, so this file is refused. Delete it; if the day really was a special session "
            "(e.g. Muhurat trading), add it to SPECIAL_SESSIONS in marketdata/calendar.py"
        )


def check_trade_date(dates: pd.Series, trade_date: dt.date | None) -> None:
    """Refuse a ``--date`` that disagrees with the dates the file carries."""
    if trade_date is None:
        return
    found = pd.DatetimeIndex(dates.dropna().unique())
    other = sorted({day.date() for day in found} - {trade_date})
    if other:
        raise IngestError(
            f"--date {trade_date} was given but the file's rows are dated {', '.join(map(str, other[:5]))}: "
            "drop --date (the file carries its own dates), or check that this is the right file"
        )
