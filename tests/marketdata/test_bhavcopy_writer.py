from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from marketdata.bhavcopy_writer import HEADER, bhavcopy_filename, write_bhavcopies
from marketdata.ingest import prepare_file
from marketdata.synthetic import SyntheticMarket
from tests.marketdata.conftest import END


def test_bhavcopy_files_use_the_nse_legacy_layout(market: SyntheticMarket, tmp_path: Path) -> None:
    few = market.bars[market.bars["date"] >= pd.Timestamp("2024-06-26")]
    paths = write_bhavcopies(few, out_dir=tmp_path)
    assert [p.name for p in paths] == ["cm26JUN2024bhav.csv", "cm27JUN2024bhav.csv", "cm28JUN2024bhav.csv"]
    assert bhavcopy_filename(dt.date(2019, 4, 1)) == "cm01APR2019bhav.csv"
    lines = paths[-1].read_text().split("\n")
    assert lines[0] == ",".join(HEADER)
    assert (
        lines[0] == "SYMBOL,SERIES,OPEN,HIGH,LOW,CLOSE,LAST,PREVCLOSE,TOTTRDQTY,TOTTRDVAL,TIMESTAMP,TOTALTRADES,ISIN,"
    )
    assert lines[-1] == ""
    rows = [line.split(",") for line in lines[1:-1]]
    assert len(rows) == (few["date"] == pd.Timestamp(END)).sum()
    assert all(len(row) == 14 and row[-1] == "" and row[10] == "28-JUN-2024" for row in rows)
    assert not any(value.endswith(".0") for row in rows for value in row[2:8])


@pytest.mark.realdata
def test_bhavcopy_header_matches_the_real_file(raw_dir: Path, market: SyntheticMarket, tmp_path: Path) -> None:
    real_header = (raw_dir / "nse_01APR2019.csv").read_text().split("\n")[0]
    path = write_bhavcopies(market.bars[market.bars["date"] == pd.Timestamp(END)], out_dir=tmp_path)[0]
    assert path.read_text().split("\n")[0] == real_header.rstrip("\r")


def test_written_files_parse_back_to_the_same_bars(market: SyntheticMarket, tmp_path: Path) -> None:
    few = market.bars[market.bars["date"] >= pd.Timestamp("2024-06-01")].reset_index(drop=True)
    parsed = pd.concat(
        [prepare_file(p.read_bytes(), filename=p.name).bars for p in write_bhavcopies(few, out_dir=tmp_path)],
        ignore_index=True,
    )
    assert len(parsed) == len(few)
    for name in ("symbol", "series", "isin"):
        assert (parsed[name].to_numpy() == few[name].to_numpy()).all(), name
    assert (parsed["date"].dt.date.to_numpy() == few["date"].dt.date.to_numpy()).all()
    for name in ("open", "high", "low", "close", "last", "prev_close", "volume", "turnover", "trades"):
        np.testing.assert_array_equal(parsed[name].to_numpy(np.float64), few[name].to_numpy(np.float64), err_msg=name)
