"""bars_upsert and bars_ingest against PostgreSQL (and the portable path used on SQLite)."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from django.conf import LazySettings
from django.db import transaction

from common.choices import RunStatus
from marketdata import services
from marketdata.ingest.result import FAILED, SUCCEEDED
from marketdata.models import DailyBar, IngestRun, Instrument
from marketdata.services import UpsertCounts, bars_ingest, bars_upsert

pytestmark = pytest.mark.django_db

HEADER = "SYMBOL,SERIES,OPEN,HIGH,LOW,CLOSE,LAST,PREVCLOSE,TOTTRDQTY,TOTTRDVAL,TIMESTAMP,TOTALTRADES,ISIN,"


@pytest.fixture(autouse=True)
def _data_dir(settings: LazySettings, tmp_path: Path) -> None:
    settings.VCP_DATA_DIR = tmp_path / "data"


def _bars(symbols: list[str], dates: list[str], *, close: float = 10.5, **columns: object) -> pd.DataFrame:
    rows = [(s, d) for s in symbols for d in dates]
    frame = pd.DataFrame(rows, columns=["symbol", "date"])
    frame["date"] = pd.to_datetime(frame["date"])
    frame = frame.assign(series="EQ", open=10.0, high=11.0, low=9.0, close=close, volume=1000)
    return frame.assign(**columns)


def _upsert(frame: pd.DataFrame, exchange: str = "NSE") -> UpsertCounts:
    with transaction.atomic():
        return bars_upsert(frame=frame, exchange=exchange)


def test_upsert_inserts_new_bars_then_reports_them_unchanged() -> None:
    frame = _bars(["AAA", "BBB"], ["2024-04-01", "2024-04-02"])
    assert _upsert(frame) == UpsertCounts(inserted=4, updated=0, unchanged=0)
    assert _upsert(frame) == UpsertCounts(inserted=0, updated=0, unchanged=4)
    assert DailyBar.objects.count() == 4
    assert Instrument.objects.count() == 2


def test_upsert_counts_changed_rows_as_updated_and_stores_the_new_values() -> None:
    _upsert(_bars(["AAA", "BBB"], ["2024-04-01"]))
    changed = _bars(["AAA", "BBB", "CCC"], ["2024-04-01"])
    changed.loc[changed["symbol"] == "AAA", "close"] = 10.75
    assert _upsert(changed) == UpsertCounts(inserted=1, updated=1, unchanged=1)
    assert DailyBar.objects.get(instrument__symbol="AAA").close == 10.75


def test_upsert_stores_missing_optional_values_as_null() -> None:
    frame = _bars(["AAA"], ["2024-04-01"], last=np.nan, prev_close=10.0, turnover=np.nan, trades=np.nan)
    _upsert(frame)
    bar = DailyBar.objects.get()
    assert (bar.last, bar.prev_close, bar.turnover, bar.trades) == (None, 10.0, None, None)
    assert _upsert(frame) == UpsertCounts(unchanged=1)  # NULL equals NULL for "unchanged"


def test_nullable_integer_columns_with_gaps_are_accepted() -> None:
    frame = _bars(["AAA", "BBB"], ["2024-04-01"])
    frame["volume"] = pd.array([1000, 2000], dtype="Int64")
    frame["trades"] = pd.array([12, None], dtype="Int64")
    frame["symbol"] = frame["symbol"].astype("category")
    assert _upsert(frame) == UpsertCounts(inserted=2)
    assert sorted(DailyBar.objects.values_list("volume", "trades")) == [(1000, 12), (2000, None)]


def test_instrument_takes_series_isin_and_name_of_its_latest_row() -> None:
    frame = _bars(["AAA"], ["2024-04-01", "2024-04-02"], isin="INE000000001", name="AAA LTD")
    frame.loc[1, "series"] = "BE"
    _upsert(frame)
    inst = Instrument.objects.get(symbol="AAA")
    assert (inst.exchange, inst.series, inst.isin, inst.name) == ("NSE", "BE", "INE000000001", "AAA LTD")
    assert DailyBar.objects.get(date=dt.date(2024, 4, 1)).series == "EQ"


def test_backfilling_older_bars_does_not_overwrite_newer_instrument_values() -> None:
    _upsert(_bars(["AAA"], ["2024-04-02"], series="BE"))
    _upsert(_bars(["AAA"], ["2024-03-28"], series="EQ"))
    assert Instrument.objects.get(symbol="AAA").series == "BE"


def test_blank_isin_or_name_never_erases_stored_values() -> None:
    _upsert(_bars(["AAA"], ["2024-04-01"], isin="INE000000001", name="AAA LTD"))
    _upsert(_bars(["AAA"], ["2024-04-02"]))
    inst = Instrument.objects.get(symbol="AAA")
    assert (inst.isin, inst.name) == ("INE000000001", "AAA LTD")


def test_same_symbol_on_two_exchanges_is_two_instruments() -> None:
    _upsert(_bars(["500002"], ["2024-04-01"]), exchange="BSE")
    _upsert(_bars(["500002"], ["2024-04-01"]), exchange="NSE")
    assert sorted(Instrument.objects.values_list("exchange", flat=True)) == ["BSE", "NSE"]


def test_portable_path_used_on_sqlite_gives_the_same_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "_uses_copy", lambda: False)
    monkeypatch.setattr(services, "GENERIC_CHUNK_ROWS", 3)  # several round trips
    frame = _bars(["AAA", "BBB"], ["2024-04-01", "2024-04-02", "2024-04-03"], trades=np.nan)
    assert _upsert(frame) == UpsertCounts(inserted=6)
    frame.loc[frame["symbol"] == "BBB", "close"] = 10.6
    assert _upsert(frame) == UpsertCounts(updated=3, unchanged=3)
    assert _upsert(frame) == UpsertCounts(unchanged=6)
    assert set(DailyBar.objects.filter(instrument__symbol="BBB").values_list("close", flat=True)) == {10.6}


def test_bars_of_a_new_instrument_that_already_exist_fall_back_to_the_upsert() -> None:
    _upsert(_bars(["AAA"], ["2024-04-01", "2024-04-02"]))
    inst = Instrument.objects.get()
    bars = services._bar_rows(_bars(["AAA"], ["2024-04-01", "2024-04-02", "2024-04-03"]))
    bars["instrument_id"] = inst.pk
    # As if a concurrent load created the instrument and its bars after this one looked.
    with transaction.atomic():
        counts = services._bars_upsert_postgres(bars, fresh=np.ones(len(bars), dtype=bool))
    assert counts == UpsertCounts(inserted=1, unchanged=2)


@pytest.mark.parametrize("copy", [True, False])
def test_bars_after_the_last_stored_bar_skip_the_diff(monkeypatch: pytest.MonkeyPatch, copy: bool) -> None:
    monkeypatch.setattr(services, "_uses_copy", lambda: copy)
    _upsert(_bars(["AAA", "BBB"], ["2024-04-01", "2024-04-02"]))

    def no_diff(*args: object, **kwargs: object) -> None:
        raise AssertionError("the next day's bars must not be diffed against stored ones")

    monkeypatch.setattr(services, "_bars_upsert_staged", no_diff)
    monkeypatch.setattr(services, "_bars_upsert_generic_diff", no_diff)
    # The evening's file: a new day for both, and a new instrument.
    assert _upsert(_bars(["AAA", "BBB", "CCC"], ["2024-04-03"])) == UpsertCounts(inserted=3)
    assert DailyBar.objects.count() == 7


@pytest.mark.parametrize("copy", [True, False])
def test_a_chunk_mixing_new_days_and_changed_old_ones_counts_each(monkeypatch: pytest.MonkeyPatch, copy: bool) -> None:
    monkeypatch.setattr(services, "_uses_copy", lambda: copy)
    _upsert(_bars(["AAA"], ["2024-04-01", "2024-04-02"]))
    frame = _bars(["AAA"], ["2024-04-01", "2024-04-02", "2024-04-03"])
    frame.loc[0, "close"] = 10.55
    assert _upsert(frame) == UpsertCounts(inserted=1, updated=1, unchanged=1)
    assert _upsert(frame) == UpsertCounts(unchanged=3)
    assert sorted(DailyBar.objects.values_list("close", flat=True)) == [10.5, 10.5, 10.55]


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (_bars(["AAA"], ["2024-04-01"]).drop(columns="volume"), "needs columns volume"),
        (pd.concat([_bars(["AAA"], ["2024-04-01"])] * 2), "same symbol and date twice"),
        (_bars(["AAA"], ["2024-04-01"], close=np.nan), "without a symbol, date, open"),
        (_bars(["AAA"], ["2024-04-01"], volume=10.5), "not a whole number"),
    ],
)
def test_upsert_refuses_frames_it_cannot_load(frame: pd.DataFrame, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _upsert(frame)
    assert not DailyBar.objects.exists()


def test_upsert_refuses_an_unknown_exchange() -> None:
    with pytest.raises(ValueError, match="exchange must be one of NSE, BSE"):
        _upsert(_bars(["AAA"], ["2024-04-01"]), exchange="MCX")


def _legacy(path: Path, day: str, *symbols: str) -> Path:
    rows = [f"{s},EQ,10,11,9,10.5,10.5,10,1000,10500,{day},12,INE000000001," for s in symbols]
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


def test_ingest_records_a_run_with_counts_and_trade_date(tmp_path: Path) -> None:
    path = _legacy(tmp_path / "cm01APR2024bhav.csv", "01-APR-2024", "AAA", "BBB")
    [result] = bars_ingest(path=path, progress=False)
    run = IngestRun.objects.get(pk=result.run_id)
    assert (run.status, run.layout, run.trade_date) == (RunStatus.SUCCEEDED, "nse_legacy", dt.date(2024, 4, 1))
    assert (run.rows_read, run.rows_inserted, run.rows_updated, run.rows_unchanged) == (2, 2, 0, 0)
    assert len(run.sha256) == 64
    assert run.finished_at is not None
    assert run.seconds > 0


def test_ingest_loads_each_csv_of_a_zip_in_its_own_run(tmp_path: Path) -> None:
    one = _legacy(tmp_path / "cm01APR2024bhav.csv", "01-APR-2024", "AAA")
    two = _legacy(tmp_path / "cm02APR2024bhav.csv", "02-APR-2024", "AAA", "BBB")
    archive = tmp_path / "april.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(one, "cm01APR2024bhav.csv")
        zf.write(two, "cm02APR2024bhav.csv")
    results = bars_ingest(path=archive, progress=False)
    assert [r.status for r in results] == [SUCCEEDED, SUCCEEDED]
    assert [r.inserted for r in results] == [1, 2]
    assert results[0].source == f"{archive}:cm01APR2024bhav.csv"
    assert IngestRun.objects.filter(source__startswith=str(archive)).count() == 2


def test_ingest_of_a_folder_loads_its_files_and_leaves_subfolders(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    (folder / "done").mkdir(parents=True)
    _legacy(folder / "cm01APR2024bhav.csv", "01-APR-2024", "AAA")
    _legacy(folder / "cm02APR2024bhav.csv", "02-APR-2024", "AAA")
    _legacy(folder / "done" / "cm03APR2024bhav.csv", "03-APR-2024", "AAA")
    results = bars_ingest(path=folder, progress=False)
    assert len(results) == 2
    assert sorted(DailyBar.objects.values_list("date", flat=True)) == [dt.date(2024, 4, 1), dt.date(2024, 4, 2)]


def test_force_reload_of_an_ingested_file_changes_nothing(tmp_path: Path) -> None:
    path = _legacy(tmp_path / "cm01APR2024bhav.csv", "01-APR-2024", "AAA", "BBB")
    bars_ingest(path=path, progress=False)
    [again] = bars_ingest(path=path, progress=False, force=True)
    assert (again.status, again.inserted, again.updated, again.unchanged) == (SUCCEEDED, 0, 0, 2)


def test_ingest_of_a_missing_path_is_a_failed_run(tmp_path: Path) -> None:
    [result] = bars_ingest(path=tmp_path / "nope.csv", progress=False)
    assert result.status == FAILED
    assert "does not exist" in result.error
    assert IngestRun.objects.get(pk=result.run_id).status == RunStatus.FAILED
