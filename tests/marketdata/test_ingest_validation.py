"""Every bad input is refused with a clear error and writes nothing (PostgreSQL)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
import pytest
from django.conf import LazySettings

from common.choices import RunStatus
from marketdata import services
from marketdata.ingest.result import ALREADY_INGESTED, FAILED, SUCCEEDED, IngestResult
from marketdata.models import DailyBar, IngestRun, Instrument
from marketdata.services import bars_ingest

pytestmark = pytest.mark.django_db

HEADER = "SYMBOL,SERIES,OPEN,HIGH,LOW,CLOSE,LAST,PREVCLOSE,TOTTRDQTY,TOTTRDVAL,TIMESTAMP,TOTALTRADES,ISIN,"


def _row(
    symbol: str,
    *,
    open: str = "10",
    high: str = "11",
    low: str = "9",
    close: str = "10.5",
    volume: str = "1000",
    date: str = "02-APR-2024",
) -> str:
    return f"{symbol},EQ,{open},{high},{low},{close},{close},10,{volume},10500,{date},12,INE000000001,"


def _write(path: Path, *rows: str, header: str = HEADER) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


@pytest.fixture(autouse=True)
def _data_dir(settings: LazySettings, tmp_path: Path) -> None:
    settings.VCP_DATA_DIR = tmp_path / "data"


@pytest.fixture
def loaded(tmp_path: Path) -> tuple[int, int]:
    """A good day already in the database, so 'nothing written' is checked against real rows."""
    [result] = bars_ingest(path=_write(tmp_path / "good.csv", _row("OLD1", date="01-APR-2024")), progress=False)
    assert result.status == SUCCEEDED
    return DailyBar.objects.count(), Instrument.objects.count()


def _refused(path: Path, before: tuple[int, int], **options: object) -> IngestResult:
    [result] = bars_ingest(path=path, progress=False, **options)  # type: ignore[arg-type]
    assert result.status == FAILED
    assert (DailyBar.objects.count(), Instrument.objects.count()) == before
    run = IngestRun.objects.get(pk=result.run_id)
    assert run.status == RunStatus.FAILED
    assert run.error == result.error
    return result


def test_empty_file_is_refused(tmp_path: Path, loaded: tuple[int, int]) -> None:
    path = tmp_path / "cm02APR2024bhav.csv"
    path.write_bytes(b"")
    assert "the file is empty (0 bytes)" in _refused(path, loaded).error


def test_header_without_rows_is_refused(tmp_path: Path, loaded: tuple[int, int]) -> None:
    result = _refused(_write(tmp_path / "a.csv"), loaded)
    assert "has a header but no data rows" in result.error


def test_html_error_page_saved_as_csv_is_refused(tmp_path: Path, loaded: tuple[int, int]) -> None:
    path = tmp_path / "cm02APR2024bhav.csv"
    path.write_text("<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head><body>gone</body></html>\n")
    result = _refused(path, loaded)
    assert "is an HTML page titled '404 Not Found', not a CSV" in result.error
    assert "download the file again" in result.error


def test_missing_required_column_is_refused_by_name(tmp_path: Path, loaded: tuple[int, int]) -> None:
    header = HEADER.replace("TOTTRDQTY,", "")
    path = _write(tmp_path / "a.csv", "AAA,EQ,10,11,9,10.5,10.5,10,10500,02-APR-2024,12,INE000000001,", header=header)
    assert "missing required column TOTTRDQTY for layout nse_legacy" in _refused(path, loaded).error


def test_non_numeric_price_is_refused_with_its_line(tmp_path: Path, loaded: tuple[int, int]) -> None:
    path = _write(tmp_path / "a.csv", _row("AAA"), _row("BBB", open="abc"))
    error = _refused(path, loaded).error
    assert "1 of 2 equity rows are bad" in error
    assert "line 3: OPEN is not a number: 'abc'" in error
    assert "--skip-bad" in error


def test_high_below_low_is_refused(tmp_path: Path, loaded: tuple[int, int]) -> None:
    path = _write(tmp_path / "a.csv", _row("AAA"), _row("BBB", high="9", low="11"))
    assert "line 3: high 9.0 is below low 11.0" in _refused(path, loaded).error


def test_negative_volume_is_refused(tmp_path: Path, loaded: tuple[int, int]) -> None:
    path = _write(tmp_path / "a.csv", _row("AAA", volume="-5"), _row("BBB"))
    assert "line 2: volume is negative: -5.0" in _refused(path, loaded).error


def test_duplicate_symbol_date_in_one_file_is_refused(tmp_path: Path, loaded: tuple[int, int]) -> None:
    path = _write(tmp_path / "a.csv", _row("AAA"), _row("BBB"), _row("AAA", close="10.6"))
    error = _refused(path, loaded).error
    assert "line 2: duplicate symbol-date: AAA on 2024-04-02 appears on lines 2, 4" in error
    assert "line 4: duplicate symbol-date" in error


def test_unknown_date_format_is_refused(tmp_path: Path, loaded: tuple[int, int]) -> None:
    path = _write(tmp_path / "a.csv", _row("AAA", date="2024/04/02"), _row("BBB", date="2024/04/02"))
    error = _refused(path, loaded).error
    assert "unknown date format: TIMESTAMP values like '2024/04/02'" in error
    assert "like 01-APR-2019" in error


def test_zip_without_a_csv_is_refused(tmp_path: Path, loaded: tuple[int, int]) -> None:
    path = tmp_path / "cm02APR2024bhav.csv.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "no data today")
    result = _refused(path, loaded)
    assert "the zip archive contains no CSV file (it holds readme.txt)" in result.error


def test_file_dated_on_an_exchange_holiday_is_refused(tmp_path: Path, loaded: tuple[int, int]) -> None:
    # Feeds publish files for holidays that repeat the previous day's bars.
    path = _write(tmp_path / "cm25MAR2024bhav.csv", _row("AAA", date="25-MAR-2024"))
    error = _refused(path, loaded).error
    assert "2024-03-25 is not an NSE/BSE trading session (XBOM calendar)" in error
    assert "add it under Trading sessions in admin" in error


def test_bad_row_list_is_capped_with_a_count(tmp_path: Path, loaded: tuple[int, int]) -> None:
    rows = [_row(f"S{i:02d}", volume="-1") for i in range(25)]
    error = _refused(_write(tmp_path / "a.csv", *rows), loaded).error
    assert "line 21: volume is negative" in error
    assert "line 22:" not in error
    assert "; and 5 more" in error


def test_file_already_ingested_is_a_no_op_not_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.csv", _row("AAA"))
    [first] = bars_ingest(path=path, progress=False)
    runs = IngestRun.objects.count()
    [again] = bars_ingest(path=path, progress=False)
    assert again.status == ALREADY_INGESTED
    assert again.ok
    assert again.run_id == first.run_id
    assert "already ingested" in again.summary()
    assert IngestRun.objects.count() == runs


def test_same_bytes_under_another_name_count_as_already_ingested(tmp_path: Path) -> None:
    bars_ingest(path=_write(tmp_path / "a.csv", _row("AAA")), progress=False)
    [copy] = bars_ingest(path=_write(tmp_path / "b.csv", _row("AAA")), progress=False)
    assert copy.status == ALREADY_INGESTED


def test_failure_inside_the_upsert_rolls_back_yet_records_the_run(
    tmp_path: Path, loaded: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = services.bars_upsert

    def upsert_then_fail(**kwargs: object) -> services.UpsertCounts:
        real(**kwargs)  # type: ignore[arg-type]
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "bars_upsert", upsert_then_fail)
    result = _refused(_write(tmp_path / "a.csv", _row("AAA"), _row("BBB")), loaded)
    assert "unexpected error: RuntimeError('disk full')" in result.error


def test_skip_bad_loads_good_rows_and_writes_the_rejects_csv(tmp_path: Path, settings: LazySettings) -> None:
    path = _write(tmp_path / "cm02APR2024bhav.csv", _row("AAA"), _row("BBB", high="9", low="11"), _row("CCC"))
    [result] = bars_ingest(path=path, skip_bad=True, progress=False)
    assert result.status == SUCCEEDED
    assert (result.inserted, result.rejected) == (2, 1)
    assert sorted(DailyBar.objects.values_list("instrument__symbol", flat=True)) == ["AAA", "CCC"]
    assert result.rejects_path is not None
    assert result.rejects_path.parent == Path(settings.VCP_DATA_DIR) / "ingest_rejects"
    assert str(result.rejects_path) in result.summary()
    rejects = pd.read_csv(result.rejects_path, dtype=str)
    assert rejects.loc[0, "line"] == "3"
    assert rejects.loc[0, "reason"] == "high 9.0 is below low 11.0"
    assert (rejects.loc[0, "SYMBOL"], rejects.loc[0, "HIGH"], rejects.loc[0, "LOW"]) == ("BBB", "9", "11")
    assert IngestRun.objects.get(pk=result.run_id).rows_rejected == 1


def test_skip_bad_still_refuses_a_file_whose_every_row_is_bad(tmp_path: Path, loaded: tuple[int, int]) -> None:
    path = _write(tmp_path / "a.csv", _row("AAA", volume="-1"))
    assert "all 1 equity rows are bad" in _refused(path, loaded, skip_bad=True).error
