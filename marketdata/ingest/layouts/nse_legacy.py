"""NSE's legacy CM bhavcopy (``cmDDMONYYYYbhav.csv``, to July 2024).

``SYMBOL,SERIES,OPEN,HIGH,LOW,CLOSE,LAST,PREVCLOSE,TOTTRDQTY,TOTTRDVAL,TIMESTAMP,TOTALTRADES,ISIN,``
with a trailing empty column; later files append ``,DELIV_QTY,DELIV_PER`` after it. Turnover
(TOTTRDVAL) is in rupees; TIMESTAMP reads like ``01-APR-2019``.
"""

from __future__ import annotations

import pandas as pd

from marketdata.enums import ExchangeCode
from marketdata.ingest.frame import NSE_EQUITY_SERIES, ParseContext, Parsed, text
from marketdata.ingest.layouts.base import ColumnMap, Layout, parse_kept

NAME = "nse_legacy"
COLUMNS = ColumnMap(
    symbol="SYMBOL",
    series="SERIES",
    date="TIMESTAMP",
    open="OPEN",
    high="HIGH",
    low="LOW",
    close="CLOSE",
    last="LAST",
    prev_close="PREVCLOSE",
    volume="TOTTRDQTY",
    turnover="TOTTRDVAL",
    trades="TOTALTRADES",
    isin="ISIN",
    date_format="%d-%b-%Y",
    date_example="01-APR-2019",
)


def parse(raw: pd.DataFrame, ctx: ParseContext) -> Parsed:
    kept = raw[text(raw["SERIES"]).isin(NSE_EQUITY_SERIES)]
    return parse_kept(NAME, raw, kept, COLUMNS, exchange=ExchangeCode.NSE)


LAYOUT = Layout(
    name=NAME,
    keys=("TIMESTAMP", "TOTTRDQTY", "TOTTRDVAL"),
    required=("SYMBOL", "SERIES", "OPEN", "HIGH", "LOW", "CLOSE", "TOTTRDQTY", "TIMESTAMP"),
    optional=("LAST", "PREVCLOSE", "TOTTRDVAL", "TOTALTRADES", "ISIN"),
    exchange=ExchangeCode.NSE,
    parse=parse,
)
