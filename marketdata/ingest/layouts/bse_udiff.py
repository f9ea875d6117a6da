"""BSE's UDiFF CM bhavcopy (``BhavCopy_BSE_CM_0_0_0_YYYYMMDD_F_0000.CSV``), published since mid-2024.

The same columns as NSE's UDiFF (``marketdata.ingest.layouts.udiff``), with ``Src`` = BSE. BSE's
instruments are stored under their scrip code, as the legacy ``bse_equity`` layout does, so both
layouts land on the same Instrument: the symbol is ``FinInstrmId`` (the scrip code, e.g. 500002),
not ``TckrSymb`` (BSE's ticker, e.g. ABB). The series is the group (``SctySrs``: A, B, T, X, ...),
the name ``FinInstrmNm``. Only equity rows are kept (``FinInstrmTp`` STK, the legacy file's
SC_TYPE Q); debentures, bonds and gold bonds are skipped. Turnover (``TtlTrfVal``) is in rupees.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from marketdata.enums import ExchangeCode
from marketdata.ingest.errors import IngestError
from marketdata.ingest.frame import ParseContext, Parsed, column, text
from marketdata.ingest.layouts import udiff
from marketdata.ingest.layouts.base import Layout, parse_kept

NAME = "bse_udiff"
EQUITY_TYPES: frozenset[str] = frozenset({"STK"})
COLUMNS = replace(udiff.COLUMNS, symbol="FinInstrmId")  # the scrip code, as bse_equity stores it


def parse(raw: pd.DataFrame, ctx: ParseContext) -> Parsed:
    if udiff.source_exchange(raw, ctx.filename) != ExchangeCode.BSE:
        raise IngestError("this UDiFF file is not BSE's (column Src): it is read as nse_udiff")
    kinds = text(column(raw, "FinInstrmTp", ""))
    kept = raw[kinds.isin(EQUITY_TYPES)]
    if kept.empty:
        found = ", ".join(sorted(set(kinds.unique()) - {""})[:10]) or "none"
        raise IngestError(
            f"no equity rows in this BSE UDiFF file: FinInstrmTp is {found}, and equity rows say "
            f"{', '.join(sorted(EQUITY_TYPES))}; check that this is BSE's CM (equity) bhavcopy"
        )
    return parse_kept(NAME, raw, kept, COLUMNS, exchange=ExchangeCode.BSE)


def is_bse(raw: pd.DataFrame, filename: str) -> bool:
    return udiff.source_exchange(raw, filename) == ExchangeCode.BSE


LAYOUT = Layout(
    name=NAME,
    keys=udiff.KEYS,
    required=("TradDt", "FinInstrmId", "FinInstrmTp", "SctySrs", *udiff.PRICE_COLUMNS),
    optional=udiff.OPTIONAL,
    exchange=ExchangeCode.BSE,
    parse=parse,
    accepts=is_bse,
)
