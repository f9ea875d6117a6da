"""The PriceBand history: loaded from band files in one transaction, read as of each date."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from common.choices import RunStatus
from marketdata.bandfiles import BandFileError
from marketdata.models import IngestRun, Instrument, PriceBand
from marketdata.selectors import bands_panel
from marketdata.services import price_bands_ingest
from tests.marketdata.test_bandfiles import NSE_CHANGES, NSE_LIST

pytestmark = pytest.mark.django_db


@pytest.fixture
def instruments() -> dict[str, Instrument]:
    return {s: Instrument.objects.create(symbol=s, exchange="NSE") for s in ("20MICRONS", "RELIANCE", "ZODIAC")}


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_a_band_list_loads_once_and_a_second_load_changes_nothing(
    tmp_path: Path, instruments: dict[str, Instrument]
) -> None:
    path = _write(tmp_path, "sec_list_01082024.csv", NSE_LIST)
    first = price_bands_ingest(path=path)
    assert (first.layout, first.inserted, first.updated, first.unchanged) == ("nse_band_list", 3, 0, 0)
    again = price_bands_ingest(path=path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    assert PriceBand.objects.count() == 3
    run = IngestRun.objects.get(pk=again.run_id)
    assert (run.status, run.layout, run.trade_date, run.rows_unchanged) == (
        RunStatus.SUCCEEDED,
        "nse_band_list",
        dt.date(2024, 8, 1),
        3,
    )


def test_bands_are_read_as_of_each_date_never_backwards(tmp_path: Path, instruments: dict[str, Instrument]) -> None:
    price_bands_ingest(path=_write(tmp_path, "sec_list_01082024.csv", NSE_LIST))
    price_bands_ingest(path=_write(tmp_path, "eq_band_changes_05082024.csv", NSE_CHANGES))
    ids = [instruments[s].pk for s in ("20MICRONS", "RELIANCE", "ZODIAC")]
    dates = np.array(["2024-07-31", "2024-08-01", "2024-08-02", "2024-08-05", "2024-08-06"], dtype="datetime64[D]")
    band = bands_panel(instrument_ids=ids, dates=dates)
    assert np.isnan(band[0]).all()  # before any band file: unknown, inferred from prices
    assert band[1:3].tolist() == [[20, 0, 5], [20, 0, 5]]
    assert band[3:].tolist() == [[10, 0, 2], [10, 0, 2]]  # the revision applies from its own date on


def test_an_unknown_symbol_refuses_the_file_and_writes_nothing(
    tmp_path: Path, instruments: dict[str, Instrument]
) -> None:
    path = _write(tmp_path, "sec_list_01082024.csv", NSE_LIST + b"NEWLISTING,EQ,New Listing Limited,20,\n")
    with pytest.raises(BandFileError, match=r"1 symbols are unknown on NSE: NEWLISTING\. Nothing was loaded"):
        price_bands_ingest(path=path)
    assert not PriceBand.objects.exists()
    assert IngestRun.objects.get().status == RunStatus.FAILED
    skipped = price_bands_ingest(path=path, skip_unknown=True)
    assert (skipped.inserted, skipped.skipped_unknown) == (3, ["NEWLISTING"])


def test_an_impossible_band_refuses_the_file_and_writes_nothing(
    tmp_path: Path, instruments: dict[str, Instrument]
) -> None:
    path = _write(tmp_path, "sec_list_01082024.csv", NSE_LIST + b"ZODIAC,SM,Zodiac SME,15,\n")
    with pytest.raises(BandFileError, match="no exchange uses"):
        price_bands_ingest(path=path)
    assert not PriceBand.objects.exists()
    failed = IngestRun.objects.get()
    assert (failed.status, failed.sha256 != "") == (RunStatus.FAILED, True)
