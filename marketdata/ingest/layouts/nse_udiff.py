"""NSE's UDiFF CM bhavcopy (``BhavCopy_NSE_CM_0_0_0_YYYYMMDD_F_0000.csv``), used since July 2024.

ISO 20022 style names: ``TradDt`` (``2024-08-01``), ``TckrSymb``, ``SctySrs``, ``ISIN``,
``FinInstrmNm``, ``OpnPric``, ``HghPric``, ``LwPric``, ``ClsPric``, ``LastPric``, ``PrvsClsgPric``,
``TtlTradgVol`` (shares), ``TtlTrfVal`` (rupees), ``TtlNbOfTxsExctd`` (trades). ``Src`` names the
exchange; BSE publishes the same layout, read by ``bse_udiff`` (see ``udiff.source_exchange``).
"""

from __future__ import annotations

import pandas as pd

from marketdata.enums import ExchangeCode
from marketdata.ingest.errors import IngestError
from marketdata.ingest.frame import NSE_EQUITY_SERIES, ParseContext, Parsed, text
from marketdata.ingest.layouts import udiff
from marketdata.ingest.layouts.base import Layout, parse_kept

NAME = "nse_udiff"
COLUMNS = udiff.COLUMNS


def parse(raw: pd.DataFrame, ctx: ParseContext) -> Parsed:
    if udiff.source_exchange(raw, ctx.filename) != ExchangeCode.NSE:
        raise IngestError("this UDiFF file is BSE's (column Src): it is read as bse_udiff")
    kept = raw[text(raw["SctySrs"]).isin(NSE_EQUITY_SERIES)]
    return parse_kept(NAME, raw, kept, COLUMNS, exchange=ExchangeCode.NSE)


def is_nse(raw: pd.DataFrame, filename: str) -> bool:
    return udiff.source_exchange(raw, filename) == ExchangeCode.NSE


LAYOUT = Layout(
    name=NAME,
    keys=udiff.KEYS,
    required=("TradDt", "TckrSymb", "SctySrs", *udiff.PRICE_COLUMNS),
    optional=udiff.OPTIONAL,
    exchange=ExchangeCode.NSE,
    parse=parse,
    accepts=is_nse,
)
