"""manage.py ingest_bands: loads band files, and names every refused file and why."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from marketdata.models import Instrument, PriceBand
from tests.marketdata.test_bandfiles import NSE_LIST

pytestmark = pytest.mark.django_db


def test_ingest_bands_loads_a_file_and_reports_the_counts(tmp_path: Path) -> None:
    for symbol in ("20MICRONS", "RELIANCE", "ZODIAC"):
        Instrument.objects.create(symbol=symbol, exchange="NSE")
    path = tmp_path / "sec_list_01082024.csv"
    path.write_bytes(NSE_LIST)
    out = StringIO()
    call_command("ingest_bands", str(path), stdout=out)
    assert "nse_band_list, 3 bands: 3 new, 0 changed, 0 unchanged" in out.getvalue()
    assert PriceBand.objects.count() == 3


def test_ingest_bands_refuses_a_file_of_unknown_symbols(tmp_path: Path) -> None:
    path = tmp_path / "sec_list_01082024.csv"
    path.write_bytes(NSE_LIST)
    err = StringIO()
    with pytest.raises(CommandError, match="1 of 1 band files were refused"):
        call_command("ingest_bands", str(path), stderr=err)
    assert "3 symbols are unknown on NSE" in err.getvalue()
    assert not PriceBand.objects.exists()
