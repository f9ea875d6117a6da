"""What a layout is, and the column mapping most parsers share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from marketdata.ingest.frame import Parsed, Parser, RowProblems, build_frame, column, to_date, to_float


@dataclass(frozen=True)
class Layout:
    """A bhavcopy layout, recognised by its header.

    ``keys`` are columns only this layout has (any one points at it); ``required`` must all be
    present; ``exchange`` is fixed by the layout, or None when the caller names it. ``accepts``
    tells layouts with the same header apart by the rows and the file name (NSE's and BSE's UDiFF).
    """

    name: str
    keys: tuple[str, ...]
    required: tuple[str, ...]
    optional: tuple[str, ...]
    exchange: str | None
    parse: Parser
    accepts: Callable[[pd.DataFrame, str], bool] | None = None


@dataclass(frozen=True)
class ColumnMap:
    """Which raw column feeds each normalised column (None: the layout has no such field)."""

    symbol: str
    series: str | None
    date: str | None
    open: str
    high: str
    low: str
    close: str
    volume: str
    last: str | None = None
    prev_close: str | None = None
    turnover: str | None = None
    trades: str | None = None
    isin: str | None = None
    name: str | None = None
    date_format: str = "%Y-%m-%d"
    date_example: str = "2024-08-01"
    turnover_scale: float = 1.0


def _scaled(rupees: pd.Series, scale: float) -> pd.Series:
    # Rounding to the paisa removes float noise (794.58 lakh -> 79458000.00000001), so the same
    # day read from two layouts gives identical bars.
    return rupees if scale == 1.0 else (rupees * scale).round(2)


def map_columns(
    kept: pd.DataFrame,
    columns: ColumnMap,
    *,
    exchange: str,
    problems: RowProblems,
    dates: pd.Series | None = None,
) -> pd.DataFrame:
    """The normalised frame for ``kept`` raw rows; ``dates`` overrides a layout without a date column."""

    def required(name: str, *, whole: bool = False) -> pd.Series:
        return to_float(kept[name], name, problems, required=True, whole=whole)

    def optional(name: str | None, *, whole: bool = False) -> pd.Series | None:
        if name is None or name not in kept.columns:
            return None
        return to_float(kept[name], name, problems, required=False, whole=whole)

    if dates is None:
        if columns.date is None:
            raise ValueError("a layout without a date column must pass the dates")
        dates = to_date(
            kept[columns.date], columns.date, problems, fmt=columns.date_format, example=columns.date_example
        )
    prices = {name: required(getattr(columns, name)) for name in ("open", "high", "low", "close")}
    for name in ("last", "prev_close"):
        values = optional(getattr(columns, name))
        if values is not None:
            prices[name] = values
    turnover = optional(columns.turnover)
    return build_frame(
        index=kept.index,
        exchange=exchange,
        symbol=kept[columns.symbol],
        series=column(kept, columns.series) if columns.series else None,
        date=dates,
        prices=prices,
        volume=required(columns.volume, whole=True),
        isin=column(kept, columns.isin) if columns.isin else None,
        name=column(kept, columns.name) if columns.name else None,
        turnover=None if turnover is None else _scaled(turnover, columns.turnover_scale),
        trades=optional(columns.trades, whole=True),
    )


def parse_kept(
    name: str,
    raw: pd.DataFrame,
    kept: pd.DataFrame,
    columns: ColumnMap,
    *,
    exchange: str,
    dates: pd.Series | None = None,
) -> Parsed:
    """Map the ``kept`` equity rows of ``raw`` and count the rest as skipped: every parser's last step."""
    problems = RowProblems(kept.index)
    frame = map_columns(kept, columns, exchange=exchange, problems=problems, dates=dates)
    return Parsed(name, exchange, frame, problems, rows_read=len(raw), rows_skipped=len(raw) - len(kept))
