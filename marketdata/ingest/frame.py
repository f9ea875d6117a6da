"""The normalised bar frame that every layout parser produces, and the helpers parsers share.

A normalised frame has one row per stock-day and these columns (``NORMALISED_COLUMNS``):

- ``exchange, symbol, series, isin, name``: str, ``""`` where the layout lacks the field
- ``date``: ``datetime64`` at midnight, the trading day
- ``open, high, low, close, last, prev_close``: float64 rupees, NaN where missing
- ``volume``: float64 shares (whole numbers; float so that NaN marks a value that failed to parse)
- ``turnover``: float64 rupees traded; ``trades``: float64 number of trades
- ``line``: int64 source line of the row (CSV, header = line 1) or its 1-based row (Parquet)

The frame's index is ``line`` too, so a row's problems, raw values and parsed values line up.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pandas.api.types import is_datetime64_any_dtype, is_numeric_dtype

from marketdata.ingest.errors import IngestError

# One stock-day: the instrument's identity, then the bar's values in DailyBar's field order.
BAR_VALUE_COLUMNS: tuple[str, ...] = (
    "series",
    "open",
    "high",
    "low",
    "close",
    "last",
    "prev_close",
    "volume",
    "turnover",
    "trades",
)
BAR_COLUMNS: tuple[str, ...] = ("exchange", "symbol", "isin", "name", "date", *BAR_VALUE_COLUMNS)
# Parsers also keep each row's line number in the source file, for error messages.
NORMALISED_COLUMNS: tuple[str, ...] = (*BAR_COLUMNS, "line")
PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close")

# NSE main-board and SME equity series (ETFs trade in EQ, so they stay); the same set as the
# real 2015-2022 parquet. Debt (GS, TB, N1...), gold bonds (GB), REITs and InvITs are skipped.
NSE_EQUITY_SERIES: frozenset[str] = frozenset({"EQ", "BE", "BZ", "SM", "ST", "SZ"})

# What exchange files write for "no value".
MISSING_TOKENS: frozenset[str] = frozenset({"", "-", "NA", "N/A", "nan", "NaN"})


@dataclass(frozen=True)
class ParseContext:
    """What a parser may know beyond the file's rows."""

    filename: str
    trade_date: dt.date | None = None
    exchange: str | None = None


@dataclass
class RowProblems:
    """Reasons rows are bad, gathered as vectorised masks and joined once at the end."""

    index: pd.Index
    _parts: list[pd.Series] = field(default_factory=list)

    def add(self, mask: pd.Series | np.ndarray, reason: str, *values: pd.Series) -> None:
        """Flag the rows in ``mask``; ``reason`` is a ``str.format`` template filled from ``values``.

        ``values`` line up with ``index`` by position and are formatted for flagged rows only, so
        checking millions of good rows costs no string work.
        """
        flags = np.asarray(mask, dtype=bool)
        if not flags.any():
            return
        where = self.index[flags]
        if values:
            picked = [series.to_numpy(dtype=object)[flags] for series in values]
            texts = [reason.format(*row) for row in zip(*picked, strict=True)]
        else:
            texts = [reason] * len(where)
        self._parts.append(pd.Series(texts, index=where, dtype=object))

    def reasons(self) -> pd.Series:
        """One ``"reason; reason"`` string per bad row, indexed by line; empty when all rows are fine."""
        if not self._parts:
            return pd.Series([], index=self.index[:0], dtype=object)
        joined = pd.concat(self._parts).groupby(level=0, sort=True).agg("; ".join)
        return joined.astype(object)


@dataclass(frozen=True)
class Parsed:
    """A parser's output: kept rows (not yet validated beyond parsing) and how many it skipped."""

    layout: str
    exchange: str
    frame: pd.DataFrame
    problems: RowProblems
    rows_read: int
    rows_skipped: int


def column(raw: pd.DataFrame, name: str, default: str = "") -> pd.Series:
    """``raw[name]``, or a column of ``default`` when the layout version lacks it."""
    if name in raw.columns:
        return raw[name]
    return pd.Series(default, index=raw.index, dtype=object)


def text(values: pd.Series) -> pd.Series:
    """Stripped strings, ``""`` for missing. Categoricals (Parquet) stay categorical: far cheaper."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        stripped = pd.Index(values.cat.categories.astype(str)).str.strip()
        if stripped.is_unique and "" not in stripped:
            values = values.cat.rename_categories(stripped).cat.add_categories([""])
            return values.fillna("")
    return values.fillna("").astype(str).str.strip()


def to_float(raw: pd.Series, label: str, problems: RowProblems, *, required: bool, whole: bool = False) -> pd.Series:
    """Numbers from ``raw`` (strings or numbers) as float64; bad or missing required values are problems."""
    if is_numeric_dtype(raw):
        values = pd.Series(raw.to_numpy(dtype=np.float64, na_value=np.nan), index=raw.index)
        missing = values.isna()
    else:
        strings = text(raw)
        missing = strings.isin(MISSING_TOKENS)
        values = pd.to_numeric(strings.mask(missing), errors="coerce").astype(np.float64)
        unparsed = values.isna() & ~missing
        problems.add(unparsed, label + " is not a number: {!r}", strings)
    infinite = np.isinf(values)
    problems.add(infinite, f"{label} is not a finite number")
    values = values.mask(infinite)
    if whole:
        fractional = values.notna() & (values % 1 != 0)
        problems.add(fractional, label + " is not a whole number: {}", values)
    if required:
        problems.add(missing, f"{label} is missing")
    return values


def to_date(raw: pd.Series, label: str, problems: RowProblems, *, fmt: str, example: str) -> pd.Series:
    """Dates from ``raw`` in ``fmt`` (or already datetimes) as datetime64 at midnight.

    Single bad values are row problems; when no value parses at all the format itself is unknown
    and the whole file is refused.
    """
    if is_datetime64_any_dtype(raw):
        dates = pd.to_datetime(raw).dt.normalize()
        problems.add(dates.isna(), f"{label} is missing")
        return dates
    strings = text(raw)
    dates = pd.to_datetime(strings, format=fmt, errors="coerce")
    missing = strings.isin(MISSING_TOKENS)
    unparsed = dates.isna() & ~missing
    if unparsed.any() and dates.notna().sum() == 0:
        raise IngestError(
            f"unknown date format: {label} values like {strings[unparsed].iloc[0]!r} are not dates "
            f"in the form this layout uses (like {example}); convert the column, or fix the export that wrote it"
        )
    problems.add(missing, f"{label} is missing")
    problems.add(unparsed, label + " {!r} is not a date in the expected form (like " + example + ")", strings)
    return dates.dt.normalize()


def build_frame(
    *,
    index: pd.Index,
    exchange: str,
    symbol: pd.Series,
    series: pd.Series | None,
    date: pd.Series,
    prices: dict[str, pd.Series],
    volume: pd.Series,
    isin: pd.Series | None = None,
    name: pd.Series | None = None,
    turnover: pd.Series | None = None,
    trades: pd.Series | None = None,
) -> pd.DataFrame:
    """Assemble the normalised columns in order; ``prices`` maps open/high/low/close/last/prev_close."""
    nan = pd.Series(np.nan, index=index, dtype=np.float64)
    blank = pd.Series("", index=index, dtype=object)

    def _text(values: pd.Series | None) -> pd.Series:
        return blank if values is None else text(values)

    frame = pd.DataFrame(
        {
            "exchange": exchange,
            "symbol": text(symbol),
            "series": _text(series),
            "isin": _text(isin),
            "name": _text(name),
            "date": date,
            **{col: prices.get(col, nan) for col in ("open", "high", "low", "close", "last", "prev_close")},
            "volume": volume,
            "turnover": nan if turnover is None else turnover,
            "trades": nan if trades is None else trades,
            "line": index.to_numpy(dtype=np.int64),
        },
        index=index,
    )
    return frame[list(NORMALISED_COLUMNS)]


Parser = Callable[[pd.DataFrame, ParseContext], Parsed]
