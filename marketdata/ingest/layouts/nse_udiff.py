"""NSE's UDiFF CM bhavcopy (``BhavCopy_NSE_CM_0_0_0_YYYYMMDD_F_0000.csv``), used since July 2024.

ISO 20022 style names: ``TradDt`` (``2024-08-01``), ``TckrSymb``, ``SctySrs``, ``ISIN``,
``FinInstrmNm``, ``OpnPric``, ``HghPric``, ``LwPric``, ``ClsPric``, ``LastPric``, ``PrvsClsgPric``,
``TtlTradgVol`` (shares), ``TtlTrfVal`` (rupees), ``TtlNbOfTxsExctd`` (trades). ``Src`` names the
exchange; BSE publishes the same layout, which this parser refuses rather than mislabel.
"""

from __future__ import annotations

import pandas as pd

from marketdata.enums import ExchangeCode
from marketdata.ingest.errors import IngestError
from marketdata.ingest.frame import NSE_EQUITY_SERIES, ParseContext, Parsed, column, text
from marketdata.ingest.layouts.base import ColumnMap, Layout, parse_kept

NAME = "nse_udiff"
COLUMNS = ColumnMap(
    symbol="TckrSymb",
    series="SctySrs",
    date="TradDt",
    open="OpnPric",
    high="HghPric",
    low="LwPric",
    close="ClsPric",
    last="LastPric",
    prev_close="PrvsClsgPric",
    volume="TtlTradgVol",
    turnover="TtlTrfVal",
    trades="TtlNbOfTxsExctd",
    isin="ISIN",
    name="FinInstrmNm",
    date_format="%Y-%m-%d",
    date_example="2024-08-01",
)


def parse(raw: pd.DataFrame, ctx: ParseContext) -> Parsed:
    sources = set(text(column(raw, "Src", "NSE")).unique()) - {""}
    if sources - {"NSE"}:
        raise IngestError(
            f"this UDiFF file comes from {', '.join(sorted(sources))} (column Src), and only NSE's UDiFF "
            "layout is supported: load BSE's equity bhavcopy (SC_CODE, SC_NAME, ...) instead"
        )
    kept = raw[text(raw["SctySrs"]).isin(NSE_EQUITY_SERIES)]
    return parse_kept(NAME, raw, kept, COLUMNS, exchange=ExchangeCode.NSE)


LAYOUT = Layout(
    name=NAME,
    keys=("TradDt", "TckrSymb", "FinInstrmTp", "ClsPric"),
    required=("TradDt", "TckrSymb", "SctySrs", "OpnPric", "HghPric", "LwPric", "ClsPric", "TtlTradgVol"),
    optional=("ISIN", "FinInstrmNm", "LastPric", "PrvsClsgPric", "TtlTrfVal", "TtlNbOfTxsExctd", "Src"),
    exchange=ExchangeCode.NSE,
    parse=parse,
)
