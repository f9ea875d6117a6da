from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from marketdata.ingest import IngestError, prepare_file
from marketdata.ingest.layouts.bse_equity import date_from_filename

HEADER = "SC_CODE,SC_NAME,SC_GROUP,SC_TYPE,OPEN,HIGH,LOW,CLOSE,LAST,PREVCLOSE,NO_TRADES,NO_OF_SHRS,NET_TURNOV,TDCLOINDI"
ROWS = [
    "500002,ABB LTD.    ,A ,Q,6400.65,6569.80,6400.65,6508.35,6508.35,6363.30,2308,14574,94801667.00,",
    "700001,SOME BOND   ,F ,D,100.00,100.00,100.00,100.00,100.00,100.00,1,10,1000.00,",
]


def _csv() -> bytes:
    return ("\n".join([HEADER, *ROWS]) + "\n").encode()


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("bse_01APR2024.csv", dt.date(2024, 4, 1)),
        ("EQ010424.CSV", dt.date(2024, 4, 1)),
        ("EQ_ISINCODE_020424.CSV", dt.date(2024, 4, 2)),
        ("BhavCopy_BSE_CM_0_0_0_20240401_F_0000.CSV", dt.date(2024, 4, 1)),
        ("equity.csv", None),
    ],
)
def test_bse_date_is_read_from_the_file_name(filename: str, expected: dt.date | None) -> None:
    assert date_from_filename(filename) == expected


def test_bse_file_keeps_equity_with_code_as_symbol_and_group_as_series() -> None:
    prepared = prepare_file(_csv(), filename="EQ010424.CSV")
    assert (prepared.layout, prepared.exchange) == ("bse_equity", "BSE")
    assert (prepared.rows_read, prepared.rows_skipped) == (2, 1)
    bar = prepared.bars.iloc[0]
    assert (bar["symbol"], bar["name"], bar["series"]) == ("500002", "ABB LTD.", "A")
    assert bar["date"] == pd.Timestamp("2024-04-01")
    assert (bar["close"], bar["volume"], bar["turnover"], bar["trades"]) == (6508.35, 14574, 94801667.0, 2308)


def test_date_option_wins_over_the_file_name() -> None:
    prepared = prepare_file(_csv(), filename="EQ010424.CSV", trade_date=dt.date(2024, 4, 2))
    assert prepared.first_date == dt.date(2024, 4, 2)


def test_bse_file_without_any_date_is_refused_naming_the_date_option() -> None:
    with pytest.raises(IngestError, match=r"no date column .* pass --date YYYY-MM-DD"):
        prepare_file(_csv(), filename="equity.csv")


def test_bse_file_is_refused_when_exchange_option_says_nse() -> None:
    with pytest.raises(IngestError, match=r"--exchange NSE was given but this is a bse_equity file"):
        prepare_file(_csv(), filename="EQ010424.CSV", exchange="NSE")


@pytest.mark.realdata
def test_real_bse_file_keeps_exactly_the_equity_rows(raw_dir: Path) -> None:
    path = raw_dir / "bse_01APR2024.csv"
    plain = pd.read_csv(path, dtype=str)
    prepared = prepare_file(path.read_bytes(), filename=path.name)
    assert len(prepared.bars) == (plain["SC_TYPE"].str.strip() == "Q").sum()
    assert prepared.first_date == dt.date(2024, 4, 1)
