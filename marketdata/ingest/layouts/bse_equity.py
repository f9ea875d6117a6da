"""BSE's equity bhavcopy (``EQDDMMYY.CSV``).

``SC_CODE,SC_NAME,SC_GROUP,SC_TYPE,OPEN,HIGH,LOW,CLOSE,LAST,PREVCLOSE,NO_TRADES,NO_OF_SHRS,
NET_TURNOV,TDCLOINDI``; the ``EQ_ISINCODE_`` variant adds ``ISIN_CODE``. The symbol is the scrip
code, the series is the group (A, B, T, X, ...), turnover is in rupees. Only SC_TYPE ``Q``
(equity) is kept. The file has no date column: the date comes from ``--date``, else from the
file name (``bse_01APR2024.csv``, ``EQ010424.CSV``, ``..._20240401_...``).
"""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd

from marketdata.enums import ExchangeCode
from marketdata.ingest.errors import IngestError
from marketdata.ingest.frame import ParseContext, Parsed, text
from marketdata.ingest.layouts.base import ColumnMap, Layout, parse_kept

NAME = "bse_equity"
EQUITY_TYPE = "Q"
COLUMNS = ColumnMap(
    symbol="SC_CODE",
    series="SC_GROUP",
    date=None,
    open="OPEN",
    high="HIGH",
    low="LOW",
    close="CLOSE",
    last="LAST",
    prev_close="PREVCLOSE",
    volume="NO_OF_SHRS",
    turnover="NET_TURNOV",
    trades="NO_TRADES",
    isin="ISIN_CODE",
    name="SC_NAME",
)

# (pattern, strptime format of the joined groups), most specific first.
_FILENAME_DATES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?<!\d)(\d{2}[A-Za-z]{3}\d{4})(?!\d)"), "%d%b%Y"),
    (re.compile(r"EQ(?:_ISINCODE_)?(\d{6})(?!\d)", re.IGNORECASE), "%d%m%y"),
    (re.compile(r"(?<!\d)(\d{8})(?!\d)"), "%Y%m%d"),
)


def date_from_filename(filename: str) -> dt.date | None:
    """The trading date a BSE file name carries, or None."""
    for pattern, fmt in _FILENAME_DATES:
        for match in pattern.finditer(filename):
            try:
                return dt.datetime.strptime(match.group(1), fmt).date()
            except ValueError:
                continue
    return None


def parse(raw: pd.DataFrame, ctx: ParseContext) -> Parsed:
    day = ctx.trade_date or date_from_filename(ctx.filename)
    if day is None:
        raise IngestError(
            f"a BSE equity bhavcopy has no date column and the file name {ctx.filename!r} holds no date "
            "(like 01APR2024, EQ010424 or 20240401): pass --date YYYY-MM-DD"
        )
    kept = raw[text(raw["SC_TYPE"]) == EQUITY_TYPE]
    dates = pd.Series(pd.Timestamp(day), index=kept.index, dtype="datetime64[ns]")
    return parse_kept(NAME, raw, kept, COLUMNS, exchange=ExchangeCode.BSE, dates=dates)


LAYOUT = Layout(
    name=NAME,
    keys=("SC_CODE", "SC_NAME", "SC_GROUP", "SC_TYPE", "NO_OF_SHRS"),
    required=("SC_CODE", "SC_NAME", "SC_GROUP", "SC_TYPE", "OPEN", "HIGH", "LOW", "CLOSE", "NO_OF_SHRS"),
    optional=("LAST", "PREVCLOSE", "NO_TRADES", "NET_TURNOV", "ISIN_CODE"),
    exchange=ExchangeCode.BSE,
    parse=parse,
)
