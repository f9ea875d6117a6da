"""Row and file checks on a parsed, normalised frame (see ``frame.py`` for its columns).

Row problems (bad numbers, a bar whose open or close lies outside its low..high range, a date after
today, a symbol with characters no exchange uses, ...) reject the row; file problems (a ``--date``
that disagrees with the file, a date before the calendar starts) refuse the whole file. Which dates
were trading sessions is judged per date in ``marketdata.ingest.sessions``.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from marketdata.ingest.errors import IngestError
from marketdata.ingest.frame import PRICE_COLUMNS, RowProblems

MAX_SYMBOL_LENGTH = 64  # Instrument.symbol
MAX_SERIES_LENGTH = 4  # Instrument.series, DailyBar.series
MAX_LISTED = 20
# NSE symbols use letters, digits, & and - (M&M, BAJAJ-AUTO); BSE's are scrip codes (digits); _ and
# . appear in other exchange files. A symbol also starts with a letter or a digit: "=1+2" or
# "@SUM(A1)" is no symbol but a formula waiting for whoever opens the CSV export in a spreadsheet.
SYMBOL_PATTERN = r"[A-Za-z0-9][A-Za-z0-9&_.\-]*"
SYMBOL_RULE = "letters, digits, &, -, _ and . only, starting with a letter or digit"


def row_problems(frame: pd.DataFrame, problems: RowProblems, *, today: dt.date | None = None) -> pd.Series:
    """Add the value checks to ``problems``; return one reason string per bad line.

    ``today`` (the date in India) refuses rows dated after it; None skips that check.
    """
    symbol = frame["symbol"]  # categorical for Parquet: the string checks then run once per category
    problems.add(symbol == "", "symbol is missing")
    problems.add(symbol.str.len() > MAX_SYMBOL_LENGTH, f"symbol is longer than {MAX_SYMBOL_LENGTH} characters")
    foreign = (symbol != "") & ~symbol.str.fullmatch(SYMBOL_PATTERN).fillna(False).astype(bool)
    problems.add(foreign, "symbol {!r} has characters exchanges do not use (" + SYMBOL_RULE + ")", symbol)
    series = frame["series"]
    problems.add(series.str.len() > MAX_SERIES_LENGTH, f"series {{!r}} is longer than {MAX_SERIES_LENGTH}", series)
    for name in PRICE_COLUMNS:
        problems.add(frame[name] <= 0, f"{name} price is not positive: {{}}", frame[name])
    problems.add(frame["prev_close"] <= 0, "prev_close is not positive: {}", frame["prev_close"])
    # NSE writes LAST as 0 when it has none (523 SME rows of 2018 in the real data): only negative is wrong.
    problems.add(frame["last"] < 0, "last is negative: {}", frame["last"])
    high, low = frame["high"], frame["low"]
    problems.add(high < low, "high {} is below low {}", high, low)
    for name in ("open", "close"):
        outside = (high >= low) & ((frame[name] < low) | (frame[name] > high))
        problems.add(outside, f"{name} {{}} is outside the day's range low {{}} .. high {{}}", frame[name], low, high)
    problems.add(frame["volume"] < 0, "volume is negative: {}", frame["volume"])
    problems.add(frame["volume"] == 0, "volume is zero: a bar nobody traded has no prices")
    for name in ("turnover", "trades"):
        problems.add(frame[name] < 0, f"{name} is negative: {{}}", frame[name])
    if today is not None:
        future = frame["date"] > pd.Timestamp(today)
        problems.add(future, "date {:%Y-%m-%d} is after today (" + today.isoformat() + " in India)", frame["date"])
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
