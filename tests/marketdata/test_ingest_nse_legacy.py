from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from marketdata.ingest import IngestError, prepare_file

HEADER = "SYMBOL,SERIES,OPEN,HIGH,LOW,CLOSE,LAST,PREVCLOSE,TOTTRDQTY,TOTTRDVAL,TIMESTAMP,TOTALTRADES,ISIN,"
ROWS = [
    "1003GS2019,GS,69.66,69.66,69.66,69.66,69.66,73.32,1,69.66,01-APR-2019,1,IN0020010065,",
    "20MICRONS,EQ,39.45,40.55,38.05,40.15,40.1,38.2,70139,2786820.95,01-APR-2019,401,INE144J01027,",
    "21STCENMGM,BE,19.6,19.6,19.6,19.6,19.6,19.25,3415,66934,01-APR-2019,15,INE253B01015,",
]


def _csv(*lines: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode()


def test_legacy_file_is_parsed_into_the_normalised_frame() -> None:
    prepared = prepare_file(_csv(*ROWS), filename="cm01APR2019bhav.csv")
    assert prepared.layout == "nse_legacy"
    assert prepared.exchange == "NSE"
    bar = prepared.bars.set_index("symbol").loc["20MICRONS"]
    assert bar["series"] == "EQ"
    assert bar["isin"] == "INE144J01027"
    assert bar["date"] == pd.Timestamp("2019-04-01")
    assert (bar["open"], bar["high"], bar["low"], bar["close"]) == (39.45, 40.55, 38.05, 40.15)
    assert (bar["last"], bar["prev_close"]) == (40.1, 38.2)
    assert (bar["volume"], bar["turnover"], bar["trades"]) == (70139, 2786820.95, 401)
    assert bar["line"] == 3  # header is line 1, the GS row line 2


def test_debt_series_are_skipped_and_counted_not_rejected() -> None:
    prepared = prepare_file(_csv(*ROWS), filename="cm01APR2019bhav.csv")
    assert sorted(prepared.bars["symbol"]) == ["20MICRONS", "21STCENMGM"]
    assert (prepared.rows_read, prepared.rows_skipped, len(prepared.rejects)) == (3, 1, 0)
    assert prepared.first_date == prepared.last_date == dt.date(2019, 4, 1)


def test_delivery_columns_after_an_empty_column_are_accepted() -> None:
    header = HEADER + ",DELIV_QTY,DELIV_PER"
    rows = [row + ",119,50.42" for row in ROWS[1:]]
    prepared = prepare_file(_csv(*rows, header=header), filename="x.csv")
    assert prepared.layout == "nse_legacy"
    assert len(prepared.bars) == 2


def test_blank_lines_do_not_shift_line_numbers() -> None:
    bad = "BADCO,EQ,10,9,11,10,10,10,5,50,01-APR-2019,1,INE000000001,"
    with pytest.raises(IngestError, match=r"line 5: high 9.0 is below low 11.0"):
        prepare_file(_csv(ROWS[1], "", ROWS[2], bad), filename="x.csv")


@pytest.mark.realdata
def test_real_legacy_files_parse_without_rejects(raw_dir: Path) -> None:
    for name in ("nse_01APR2019.csv", "nse_01APR2024.csv"):
        prepared = prepare_file((raw_dir / name).read_bytes(), filename=name)
        assert prepared.layout == "nse_legacy"
        assert prepared.rejects.empty
        assert set(prepared.bars["series"]) <= {"EQ", "BE", "BZ", "SM", "ST", "SZ"}
        assert prepared.bars["isin"].str.len().eq(12).all()
