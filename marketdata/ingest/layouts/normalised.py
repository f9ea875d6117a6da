"""The platform's own normalised layout, as Parquet or CSV: many dates in one file.

``symbol,date,series,open,high,low,close,last,prev_close,volume,trades`` (optionally ``turnover``,
``isin``, ``name``): the layout of the real 2015-2022 NSE parquet. Dates are ISO (``2024-08-01``)
in CSV, or a datetime column in Parquet. The file names no exchange: NSE unless ``--exchange``
says BSE. For NSE only the equity series are kept; BSE groups are all kept.
"""

from __future__ import annotations

import pandas as pd

from marketdata.enums import ExchangeCode
from marketdata.ingest.frame import NSE_EQUITY_SERIES, ParseContext, Parsed, text
from marketdata.ingest.layouts.base import ColumnMap, Layout, parse_kept

NAME = "normalised"
COLUMNS = ColumnMap(
    symbol="symbol",
    series="series",
    date="date",
    open="open",
    high="high",
    low="low",
    close="close",
    last="last",
    prev_close="prev_close",
    volume="volume",
    turnover="turnover",
    trades="trades",
    isin="isin",
    name="name",
    date_format="%Y-%m-%d",
    date_example="2024-08-01",
)


def parse(raw: pd.DataFrame, ctx: ParseContext) -> Parsed:
    exchange = ctx.exchange or ExchangeCode.NSE
    # BSE groups (A, B, T, X, ...) are all equity; NSE series need filtering.
    kept = raw[text(raw["series"]).isin(NSE_EQUITY_SERIES)] if exchange == ExchangeCode.NSE else raw
    return parse_kept(NAME, raw, kept, COLUMNS, exchange=exchange)


LAYOUT = Layout(
    name=NAME,
    keys=("symbol", "date", "prev_close", "volume"),
    required=("symbol", "date", "series", "open", "high", "low", "close", "volume"),
    optional=("last", "prev_close", "trades", "turnover", "isin", "name"),
    exchange=None,
    parse=parse,
)
