from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.conf import LazySettings
from django.core.management import CommandError, call_command

from marketdata.models import DailyBar, Instrument

pytestmark = pytest.mark.django_db

LEGACY = "SYMBOL,SERIES,OPEN,HIGH,LOW,CLOSE,LAST,PREVCLOSE,TOTTRDQTY,TOTTRDVAL,TIMESTAMP,TOTALTRADES,ISIN,"
BSE = "SC_CODE,SC_NAME,SC_GROUP,SC_TYPE,OPEN,HIGH,LOW,CLOSE,LAST,PREVCLOSE,NO_TRADES,NO_OF_SHRS,NET_TURNOV,TDCLOINDI"


@pytest.fixture(autouse=True)
def _data_dir(settings: LazySettings, tmp_path: Path) -> None:
    settings.VCP_DATA_DIR = tmp_path / "data"


def _legacy(path: Path, *rows: str) -> Path:
    path.write_text("\n".join([LEGACY, *rows]) + "\n")
    return path


def _row(symbol: str, high: str = "11") -> str:
    return f"{symbol},EQ,10,{high},9,10.5,10.5,10,1000,10500,01-APR-2024,12,INE000000001,"


def _run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("ingest_bhavcopy", *args, "--no-progress", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_command_prints_one_summary_line_per_file(tmp_path: Path) -> None:
    one = _legacy(tmp_path / "a.csv", _row("AAA"), _row("BBB"))
    two = _legacy(tmp_path / "b.csv", _row("CCC"))
    out, _ = _run(str(one), str(two))
    lines = out.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(
        f"{one}: nse_legacy NSE 2024-04-01 inserted=2 updated=0 unchanged=0 rejected=0 skipped=0"
    )
    assert "inserted=1" in lines[1]
    assert DailyBar.objects.count() == 3


def test_command_fails_when_any_file_fails_but_loads_the_others(tmp_path: Path) -> None:
    good = _legacy(tmp_path / "a.csv", _row("AAA"))
    bad = _legacy(tmp_path / "b.csv", _row("BBB", high="8"))
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="1 of 2 files failed"):
        call_command("ingest_bhavcopy", str(good), str(bad), "--no-progress", stdout=out, stderr=err)
    assert "inserted=1" in out.getvalue()
    assert f"FAILED {bad}: 1 of 1 equity rows are bad" in err.getvalue()
    assert list(Instrument.objects.values_list("symbol", flat=True)) == ["AAA"]


def test_command_skip_bad_prints_the_rejects_path(tmp_path: Path, settings: LazySettings) -> None:
    path = _legacy(tmp_path / "a.csv", _row("AAA"), _row("BBB", high="8"))
    out, _ = _run(str(path), "--skip-bad")
    assert "inserted=1" in out
    assert "rejected=1" in out
    assert f"rejects={Path(settings.VCP_DATA_DIR) / 'ingest_rejects'}" in out


def test_command_date_option_dates_a_bse_file(tmp_path: Path) -> None:
    path = tmp_path / "bse_equity.csv"
    path.write_text(
        BSE + "\n500002,ABB LTD.    ,A ,Q,6400.65,6569.80,6400.65,6508.35,6508.35,6363.30,2308,14574,94801667.00,\n"
    )
    out, _ = _run(str(path), "--date", "2024-04-02", "--exchange", "BSE")
    assert "bse_equity BSE 2024-04-02 inserted=1" in out
    assert Instrument.objects.get().exchange == "BSE"


def test_command_refuses_a_malformed_date() -> None:
    with pytest.raises(CommandError, match="'2024/04/02' is not a date in the form YYYY-MM-DD"):
        call_command("ingest_bhavcopy", "x.csv", "--date", "2024/04/02")


def test_command_force_reloads_an_ingested_file(tmp_path: Path) -> None:
    path = _legacy(tmp_path / "a.csv", _row("AAA"))
    _run(str(path))
    out, _ = _run(str(path))
    assert "already ingested" in out
    out, _ = _run(str(path), "--force")
    assert "inserted=0 updated=0 unchanged=1" in out
