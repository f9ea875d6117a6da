"""What NSE's and BSE's UDiFF CM bhavcopies share: the columns, and which exchange a file comes from.

Both exchanges publish the same ISO 20022 style columns (``TradDt, BizDt, Sgmt, Src, FinInstrmTp,
FinInstrmId, ISIN, TckrSymb, SctySrs, ..., OpnPric, HghPric, LwPric, ClsPric, LastPric,
PrvsClsgPric, ..., TtlTradgVol, TtlTrfVal, TtlNbOfTxsExctd, ...``), so the header cannot tell them
apart: the ``Src`` column says NSE or BSE, and, where it is missing or blank, the published file
name does (``BhavCopy_NSE_CM_...`` / ``BhavCopy_BSE_CM_...``).
"""

from __future__ import annotations

import re

import pandas as pd

from marketdata.enums import ExchangeCode
from marketdata.ingest.errors import IngestError
from marketdata.ingest.frame import column, text
from marketdata.ingest.layouts.base import ColumnMap

KEYS: tuple[str, ...] = ("TradDt", "TckrSymb", "FinInstrmTp", "ClsPric")
PRICE_COLUMNS: tuple[str, ...] = ("OpnPric", "HghPric", "LwPric", "ClsPric", "TtlTradgVol")
OPTIONAL: tuple[str, ...] = (
    "ISIN",
    "FinInstrmNm",
    "LastPric",
    "PrvsClsgPric",
    "TtlTrfVal",
    "TtlNbOfTxsExctd",
    "Src",
    "FinInstrmId",
    "FinInstrmTp",
)
# Both exchanges publish these columns; BSE keys its instruments by FinInstrmId instead (bse_udiff).
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
_NAMED = re.compile(r"BhavCopy_(NSE|BSE)_", re.IGNORECASE)


def source_exchange(raw: pd.DataFrame, filename: str) -> str:
    """NSE or BSE: the ``Src`` column, else the file name, else NSE (the layout's first publisher).

    Raises IngestError for a file whose rows name more than one exchange, or one that is neither.
    """
    sources = set(text(column(raw, "Src", "")).unique()) - {""}
    if len(sources) > 1:
        raise IngestError(
            f"this UDiFF file mixes rows from {', '.join(sorted(sources))} (column Src): one file holds one "
            "exchange's bhavcopy; download each exchange's file again"
        )
    if sources:
        found = sources.pop().upper()
        if found not in {ExchangeCode.NSE, ExchangeCode.BSE}:
            raise IngestError(
                f"this UDiFF file comes from {found} (column Src): only NSE's and BSE's CM bhavcopies are supported"
            )
        return found
    named = _NAMED.search(filename)
    return named.group(1).upper() if named else ExchangeCode.NSE.value
