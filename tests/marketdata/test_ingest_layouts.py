from __future__ import annotations

from pathlib import Path

import pytest

from marketdata.ingest import IngestError, prepare_file
from marketdata.ingest.layouts import detect_layout

LEGACY = "SYMBOL,SERIES,OPEN,HIGH,LOW,CLOSE,LAST,PREVCLOSE,TOTTRDQTY,TOTTRDVAL,TIMESTAMP,TOTALTRADES,ISIN,"


@pytest.mark.parametrize(
    ("header", "layout"),
    [
        (LEGACY.split(","), "nse_legacy"),
        (
            [
                " SERIES",
                " DATE1",
                "SYMBOL",
                " OPEN_PRICE",
                " HIGH_PRICE",
                " LOW_PRICE",
                " CLOSE_PRICE",
                " TTL_TRD_QNTY",
            ],
            "nse_full",
        ),
        (["TradDt", "TckrSymb", "SctySrs", "OpnPric", "HghPric", "LwPric", "ClsPric", "TtlTradgVol"], "nse_udiff"),
        (["SC_CODE", "SC_NAME", "SC_GROUP", "SC_TYPE", "OPEN", "HIGH", "LOW", "CLOSE", "NO_OF_SHRS"], "bse_equity"),
        (["symbol", "date", "series", "open", "high", "low", "close", "volume"], "normalised"),
    ],
)
def test_layout_is_recognised_from_its_header(header: list[str], layout: str) -> None:
    assert detect_layout(header).name == layout


def test_layout_comes_from_the_header_even_when_the_file_name_says_otherwise() -> None:
    data = (LEGACY + "\nAAA,EQ,10,11,9,10.5,10.5,10,100,1050,01-APR-2024,3,INE000000001,\n").encode()
    prepared = prepare_file(data, filename="BhavCopy_NSE_CM_0_0_0_20240401_F_0000.csv")
    assert prepared.layout == "nse_legacy"


def test_missing_required_column_is_named() -> None:
    header = [name for name in LEGACY.split(",") if name != "CLOSE"]
    with pytest.raises(IngestError, match=r"missing required column CLOSE for layout nse_legacy"):
        detect_layout(header)


def test_unknown_header_lists_the_layouts_it_is_not() -> None:
    with pytest.raises(IngestError, match=r"unknown layout: the header \(Date, Price\) matches none of nse_legacy"):
        detect_layout(["Date", "Price"])


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("name", "layout"),
    [
        ("nse_01APR2019.csv", "nse_legacy"),
        ("nse_01APR2024.csv", "nse_legacy"),
        ("nse_01AUG2024.csv", "nse_full"),
        ("BhavCopy_NSE_CM_0_0_0_20240801_F_0000.csv", "nse_udiff"),
        ("bse_01APR2024.csv", "bse_equity"),
    ],
)
def test_each_real_file_is_recognised_as_its_layout(raw_dir: Path, name: str, layout: str) -> None:
    assert prepare_file((raw_dir / name).read_bytes(), filename=name).layout == layout
