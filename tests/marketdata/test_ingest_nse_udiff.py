from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from marketdata.ingest import IngestError, prepare_file
from marketdata.ingest.frame import BAR_VALUE_COLUMNS

HEADER = (
    "TradDt,BizDt,Sgmt,Src,FinInstrmTp,FinInstrmId,ISIN,TckrSymb,SctySrs,XpryDt,FininstrmActlXpryDt,StrkPric,"
    "OptnTp,FinInstrmNm,OpnPric,HghPric,LwPric,ClsPric,LastPric,PrvsClsgPric,UndrlygPric,SttlmPric,OpnIntrst,"
    "ChngInOpnIntrst,TtlTradgVol,TtlTrfVal,TtlNbOfTxsExctd,SsnId,NewBrdLotQty,Rmks,Rsvd1,Rsvd2,Rsvd3,Rsvd4"
)
EQ_ROW = (
    "2024-08-01,2024-08-01,CM,NSE,STK,2,INE144J01027,20MICRONS,EQ,,,,,20 MICRONS LTD,273.50,274.50,264.00,"
    "265.05,264.55,272.02,,265.05,,,296358,79458000.0,5689,F1,1,,,,,"
)
GS_ROW = (
    "2024-08-01,2024-08-01,CM,NSE,STK,1,IN0020010081,1018GS2026,GS,,,,,1018GS2026,118.00,118.00,118.00,118.00,"
    "118.00,115.00,,118.00,,,5,1000.0,2,F1,1,,,,,"
)


def _csv(*rows: str) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode()


def test_udiff_file_is_parsed_with_isin_and_name() -> None:
    prepared = prepare_file(_csv(GS_ROW, EQ_ROW), filename="BhavCopy_NSE_CM_0_0_0_20240801_F_0000.csv")
    assert prepared.layout == "nse_udiff"
    assert (prepared.rows_read, prepared.rows_skipped) == (2, 1)
    bar = prepared.bars.iloc[0]
    assert (bar["symbol"], bar["series"], bar["isin"], bar["name"]) == (
        "20MICRONS",
        "EQ",
        "INE144J01027",
        "20 MICRONS LTD",
    )
    assert bar["date"] == pd.Timestamp("2024-08-01")
    assert (bar["close"], bar["prev_close"], bar["volume"], bar["turnover"]) == (265.05, 272.02, 296358, 79458000.0)


def test_a_udiff_file_from_bse_is_read_as_bse_never_as_nse() -> None:
    prepared = prepare_file(_csv(EQ_ROW.replace(",CM,NSE,", ",CM,BSE,")), filename="x.csv")
    assert (prepared.layout, prepared.exchange) == ("bse_udiff", "BSE")


def test_a_udiff_file_mixing_exchanges_is_refused() -> None:
    with pytest.raises(IngestError, match=r"mixes rows from BSE, NSE \(column Src\)"):
        prepare_file(_csv(EQ_ROW, GS_ROW.replace(",CM,NSE,", ",CM,BSE,")), filename="x.csv")


@pytest.mark.realdata
def test_real_udiff_and_full_files_of_one_day_give_identical_bars(raw_dir: Path) -> None:
    udiff = raw_dir / "BhavCopy_NSE_CM_0_0_0_20240801_F_0000.csv"
    full = raw_dir / "nse_01AUG2024.csv"
    a = prepare_file(udiff.read_bytes(), filename=udiff.name).bars.set_index("symbol").sort_index()
    b = prepare_file(full.read_bytes(), filename=full.name).bars.set_index("symbol").sort_index()
    assert a.index.equals(b.index)
    for name in ("date", *BAR_VALUE_COLUMNS):
        np.testing.assert_array_equal(a[name].to_numpy(), b[name].to_numpy(), err_msg=name)
