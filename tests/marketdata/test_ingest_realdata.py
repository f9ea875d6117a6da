"""The real sample files and a slice of the real parquet load into PostgreSQL with exact counts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from django.conf import LazySettings

from marketdata.ingest.result import ALREADY_INGESTED, SUCCEEDED
from marketdata.models import DailyBar, Instrument
from marketdata.services import bars_ingest

pytestmark = [pytest.mark.django_db, pytest.mark.realdata]

EQUITY = {"EQ", "BE", "BZ", "SM", "ST", "SZ"}


def _stripped(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str)
    frame.columns = [name.strip() for name in frame.columns]
    return frame.apply(lambda column: column.str.strip())


def _nse(series_column: str) -> Callable[[Path], int]:
    return lambda path: int(_stripped(path)[series_column].isin(EQUITY).sum())


def _bse(path: Path) -> int:
    return int((_stripped(path)["SC_TYPE"] == "Q").sum())


@pytest.fixture(autouse=True)
def _data_dir(settings: LazySettings, tmp_path: Path) -> None:
    settings.VCP_DATA_DIR = tmp_path / "data"


@pytest.mark.parametrize(
    ("name", "exchange", "day", "expected_rows"),
    [
        ("nse_01APR2019.csv", "NSE", dt.date(2019, 4, 1), _nse("SERIES")),
        ("nse_01APR2024.csv", "NSE", dt.date(2024, 4, 1), _nse("SERIES")),
        ("nse_01AUG2024.csv", "NSE", dt.date(2024, 8, 1), _nse("SERIES")),
        ("BhavCopy_NSE_CM_0_0_0_20240801_F_0000.csv", "NSE", dt.date(2024, 8, 1), _nse("SctySrs")),
        ("bse_01APR2024.csv", "BSE", dt.date(2024, 4, 1), _bse),
    ],
    ids=["nse_legacy_2019", "nse_legacy_2024", "nse_full", "nse_udiff", "bse_equity"],
)
def test_real_file_loads_its_equity_rows_and_reloads_without_change(
    raw_dir: Path, name: str, exchange: str, day: dt.date, expected_rows: Callable[[Path], int]
) -> None:
    path = raw_dir / name
    expected = expected_rows(path)
    [first] = bars_ingest(path=path, progress=False)
    assert first.status == SUCCEEDED, first.error
    assert (first.inserted, first.updated, first.rejected) == (expected, 0, 0)
    assert first.skipped == first.rows_read - expected
    assert DailyBar.objects.filter(instrument__exchange=exchange, date=day).count() == expected
    assert Instrument.objects.filter(exchange=exchange).count() == expected

    [forced] = bars_ingest(path=path, progress=False, force=True)
    assert (forced.inserted, forced.updated, forced.unchanged) == (0, 0, expected)
    [again] = bars_ingest(path=path, progress=False)
    assert again.status == ALREADY_INGESTED


def test_real_parquet_slice_of_50_symbols_loads_every_bar(real_parquet: Path, tmp_path: Path) -> None:
    whole = pd.read_parquet(real_parquet, columns=["symbol"])
    symbols = sorted(whole["symbol"].astype(str).unique())[::50][:50]
    part = pd.read_parquet(real_parquet, filters=[("symbol", "in", symbols)])
    path = tmp_path / "slice.parquet"
    part.to_parquet(path, index=False)

    [result] = bars_ingest(path=path, progress=False)
    assert result.status == SUCCEEDED, result.error
    assert (result.layout, result.inserted, result.rejected, result.skipped) == ("normalised", len(part), 0, 0)
    assert Instrument.objects.count() == 50
    assert DailyBar.objects.count() == len(part)

    row = part.iloc[len(part) // 2]
    bar = DailyBar.objects.get(instrument__symbol=str(row["symbol"]), date=row["date"].date())
    assert (bar.series, bar.open, bar.high, bar.low, bar.close) == (
        str(row["series"]),
        row["open"],
        row["high"],
        row["low"],
        row["close"],
    )
    assert (bar.last, bar.prev_close, bar.volume, bar.trades) == (
        row["last"],
        row["prev_close"],
        row["volume"],
        row["trades"],
    )

    [forced] = bars_ingest(path=path, progress=False, force=True)
    assert (forced.inserted, forced.updated, forced.unchanged) == (0, 0, len(part))
