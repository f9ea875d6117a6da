"""NSE's "full" bhavcopy (``sec_bhavdata_full_DDMMYYYY.csv``).

``SYMBOL, SERIES, DATE1, PREV_CLOSE, OPEN_PRICE, HIGH_PRICE, LOW_PRICE, LAST_PRICE, CLOSE_PRICE,
AVG_PRICE, TTL_TRD_QNTY, TURNOVER_LACS, NO_OF_TRADES, DELIV_QTY, DELIV_PER``: names and values are
padded with a space (the reader strips them), ``-`` marks a missing value, DATE1 reads like
``01-Aug-2024``, and turnover is in lakhs (1 lakh = 1e5 rupees).
"""

from __future__ import annotations

import pandas as pd

from marketdata.enums import ExchangeCode
from marketdata.ingest.frame import NSE_EQUITY_SERIES, ParseContext, Parsed, text
from marketdata.ingest.layouts.base import ColumnMap, Layout, parse_kept

NAME = "nse_full"
RUPEES_PER_LAKH = 1e5
COLUMNS = ColumnMap(
    symbol="SYMBOL",
    series="SERIES",
    date="DATE1",
    open="OPEN_PRICE",
    high="HIGH_PRICE",
    low="LOW_PRICE",
    close="CLOSE_PRICE",
    last="LAST_PRICE",
    prev_close="PREV_CLOSE",
    volume="TTL_TRD_QNTY",
    turnover="TURNOVER_LACS",
    trades="NO_OF_TRADES",
    date_format="%d-%b-%Y",
    date_example="01-Aug-2024",
    turnover_scale=RUPEES_PER_LAKH,
)


def parse(raw: pd.DataFrame, ctx: ParseContext) -> Parsed:
    kept = raw[text(raw["SERIES"]).isin(NSE_EQUITY_SERIES)]
    return parse_kept(NAME, raw, kept, COLUMNS, exchange=ExchangeCode.NSE)


LAYOUT = Layout(
    name=NAME,
    keys=("DATE1", "TTL_TRD_QNTY", "TURNOVER_LACS", "CLOSE_PRICE"),
    required=("SYMBOL", "SERIES", "DATE1", "OPEN_PRICE", "HIGH_PRICE", "LOW_PRICE", "CLOSE_PRICE", "TTL_TRD_QNTY"),
    optional=("PREV_CLOSE", "LAST_PRICE", "TURNOVER_LACS", "NO_OF_TRADES"),
    exchange=ExchangeCode.NSE,
    parse=parse,
)
