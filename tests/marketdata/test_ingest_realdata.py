"""The real sample files and a slice of the real parquet load into PostgreSQL with exact counts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from django.conf import LazySettings

from marketdata.ingest import prepare_file
from marketdata.ingest.result import ALREADY_INGESTED, FAILED, SUCCEEDED
from marketdata.models import DailyBar, Instrument, TradingSession
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


# --- special sessions and the whole history (issue #12) -------------------------------------------------

BUDGET = dt.date(2025, 2, 1)


@pytest.mark.slow
def test_the_whole_real_parquet_loads_every_row(real_parquet: Path) -> None:
    # 3,413,370 rows, 2015-2022: every bar passes the bar-sanity rules, every date is a session.
    [result] = bars_ingest(path=real_parquet, progress=False)
    assert result.status == SUCCEEDED, result.error
    assert (result.inserted, result.updated, result.rejected, result.skipped) == (3_413_370, 0, 0, 0)
    assert (result.first_date, result.last_date) == (dt.date(2015, 1, 1), dt.date(2022, 12, 30))
    assert DailyBar.objects.count() == 3_413_370
    assert not result.refused_dates
    assert not result.special_sessions


def test_the_budget_saturday_loads_and_its_sunday_named_copy_changes_nothing(raw_dir: Path) -> None:
    expected = _nse("SERIES")(raw_dir / "nse_01FEB2025.csv")
    [saturday] = bars_ingest(path=raw_dir / "nse_01FEB2025.csv", progress=False)
    assert saturday.status == SUCCEEDED, saturday.error
    assert (saturday.first_date, saturday.last_date, saturday.inserted, saturday.rejected) == (
        BUDGET,
        BUDGET,
        expected,
        0,
    )
    assert DailyBar.objects.filter(date=BUDGET).count() == expected
    assert TradingSession.objects.get(date=BUDGET).kind == "budget"  # shipped: nothing to judge

    [sunday] = bars_ingest(path=raw_dir / "nse_02FEB2025.csv", progress=False)
    assert sunday.status == ALREADY_INGESTED
    [forced] = bars_ingest(path=raw_dir / "nse_02FEB2025.csv", progress=False, force=True)
    assert (forced.status, forced.first_date, forced.inserted, forced.updated, forced.unchanged) == (
        SUCCEEDED,
        BUDGET,
        0,
        0,
        expected,
    )
    assert DailyBar.objects.count() == expected
    assert not DailyBar.objects.filter(date=dt.date(2025, 2, 2)).exists()


def _real_day(raw_dir: Path, day: dt.date, *, scale: float = 1.0) -> bytes:
    """The real Budget-day equity rows as a normalised CSV dated ``day``, prices times ``scale``."""
    path = raw_dir / "nse_01FEB2025.csv"
    bars = prepare_file(path.read_bytes(), filename=path.name, extra_sessions={BUDGET}).bars.copy()
    for name in ("open", "high", "low", "close", "last", "prev_close"):
        bars[name] = (bars[name] * scale).round(2)
    bars["date"] = pd.Timestamp(day)
    return bars.drop(columns=["exchange", "line"]).to_csv(index=False).encode()


def test_without_the_shipped_row_the_budget_saturday_is_found_a_special_session_from_its_bars(
    raw_dir: Path, tmp_path: Path
) -> None:
    TradingSession.objects.filter(date=BUDGET).delete()
    friday = tmp_path / "31JAN2025.csv"
    friday.write_bytes(_real_day(raw_dir, dt.date(2025, 1, 31), scale=0.97))
    [loaded] = bars_ingest(path=friday, progress=False)
    assert loaded.status == SUCCEEDED, loaded.error
    [saturday] = bars_ingest(path=raw_dir / "nse_01FEB2025.csv", progress=False)
    assert saturday.status == SUCCEEDED, saturday.error
    assert saturday.inserted == _nse("SERIES")(raw_dir / "nse_01FEB2025.csv")
    session = TradingSession.objects.get(date=BUDGET)
    assert session.kind == "detected"
    assert "accepted as a special session" in session.note


def test_a_real_day_republished_under_a_holiday_is_refused_as_a_repeat(raw_dir: Path, tmp_path: Path) -> None:
    thursday = tmp_path / "13MAR2025.csv"
    thursday.write_bytes(_real_day(raw_dir, dt.date(2025, 3, 13)))
    [loaded] = bars_ingest(path=thursday, progress=False)
    assert loaded.status == SUCCEEDED, loaded.error
    holi = tmp_path / "14MAR2025.csv"  # Holi: the archive's copy dated on the holiday itself
    holi.write_bytes(_real_day(raw_dir, dt.date(2025, 3, 14)))
    [refused] = bars_ingest(path=holi, progress=False)
    assert refused.status == FAILED
    assert "2025-03-14 is not an NSE/BSE trading session (XBOM calendar) and 100% of its" in refused.error
    assert "repeat the bars of 2025-03-13 exactly" in refused.error
    assert not DailyBar.objects.filter(date=dt.date(2025, 3, 14)).exists()
