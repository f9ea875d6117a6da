"""BSE's UDiFF equity bhavcopy: told from NSE's by content, stored under the scrip code like the legacy file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from django.conf import LazySettings

from marketdata.ingest import IngestError, prepare_file
from marketdata.ingest.frame import BAR_VALUE_COLUMNS
from marketdata.ingest.result import SUCCEEDED
from marketdata.models import DailyBar, Instrument
from marketdata.services import bars_ingest
from tests.marketdata.archive import bse_legacy_as_udiff, udiff_csv, udiff_name

DAY = dt.date(2024, 8, 2)


def _bars() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "date": pd.Timestamp(DAY),
            "symbol": ["500002", "500003", "543121"],
            "name": ["ABB LTD.", "AEGIS LOGIS", "UTMTFS2DGR"],
            "series": ["A", "XT", "F"],
            "isin": ["INE117A01022", "INE208C01025", "INE000000000"],
            "open": [6400.65, 451.75, 1000.0],
            "high": [6569.80, 452.00, 1000.0],
            "low": [6400.65, 430.00, 1000.0],
            "close": [6508.35, 436.65, 1000.0],
            "last": [6508.35, 436.65, 1000.0],
            "prev_close": [6363.30, 445.70, 1000.0],
            "volume": [14574.0, 117652.0, 1.0],
            "turnover": [94801667.0, 51633202.0, 1000.0],
            "trades": [2308.0, 2852.0, 1.0],
        }
    )


def _file() -> bytes:
    return udiff_csv(_bars(), exchange="BSE", kinds=pd.Series(["STK", "STK", "DBT"]))


def test_a_bse_udiff_file_is_read_as_bse_with_the_scrip_code_as_symbol() -> None:
    prepared = prepare_file(_file(), filename=udiff_name("BSE", DAY))
    assert (prepared.layout, prepared.exchange) == ("bse_udiff", "BSE")
    assert (prepared.rows_read, prepared.rows_skipped) == (3, 1)  # the debenture (DBT) is no equity
    abb = prepared.bars.iloc[0]
    assert (abb["symbol"], abb["series"], abb["name"], abb["isin"]) == ("500002", "A", "ABB LTD.", "INE117A01022")
    assert (abb["close"], abb["volume"], abb["turnover"], abb["trades"]) == (6508.35, 14574, 94801667.0, 2308)
    assert abb["date"] == pd.Timestamp(DAY)


def test_without_a_src_value_the_published_file_name_tells_bse_from_nse() -> None:
    data = _file().decode().replace(",CM,BSE,", ",CM,,").encode()
    assert prepare_file(data, filename=udiff_name("BSE", DAY)).layout == "bse_udiff"
    assert prepare_file(data, filename="bhavcopy.csv").layout == "nse_udiff"


def test_a_bse_udiff_file_without_equity_rows_says_what_it_found() -> None:
    data = udiff_csv(_bars(), exchange="BSE", kinds=pd.Series(["DBT", "DBT", "BND"]))
    with pytest.raises(IngestError, match="no equity rows in this BSE UDiFF file: FinInstrmTp is BND, DBT"):
        prepare_file(data, filename=udiff_name("BSE", DAY))


def test_exchange_option_contradicting_a_bse_udiff_file_is_refused() -> None:
    with pytest.raises(IngestError, match="--exchange NSE was given but this is a bse_udiff file, which is BSE"):
        prepare_file(_file(), filename=udiff_name("BSE", DAY), exchange="NSE")


@pytest.mark.realdata
def test_the_real_bse_file_in_udiff_layout_gives_the_bars_of_the_legacy_layout(raw_dir: Path) -> None:
    legacy = raw_dir / "bse_01APR2024.csv"
    udiff = bse_legacy_as_udiff(legacy, day=dt.date(2024, 4, 1))
    a = prepare_file(udiff, filename=udiff_name("BSE", dt.date(2024, 4, 1)))
    b = prepare_file(legacy.read_bytes(), filename=legacy.name)
    assert (a.layout, b.layout) == ("bse_udiff", "bse_equity")
    assert (a.rows_read, a.rows_skipped) == (b.rows_read, b.rows_skipped) == (4382, 283)
    left, right = a.bars.set_index("symbol").sort_index(), b.bars.set_index("symbol").sort_index()
    assert left.index.equals(right.index)
    for name in ("date", "name", *BAR_VALUE_COLUMNS):
        np.testing.assert_array_equal(left[name].to_numpy(), right[name].to_numpy(), err_msg=name)


@pytest.mark.realdata
@pytest.mark.django_db
def test_both_bse_layouts_of_one_day_land_on_the_same_instruments(
    raw_dir: Path, tmp_path: Path, settings: LazySettings
) -> None:
    settings.VCP_DATA_DIR = tmp_path / "data"
    legacy = raw_dir / "bse_01APR2024.csv"
    udiff = tmp_path / udiff_name("BSE", dt.date(2024, 4, 1))
    udiff.write_bytes(bse_legacy_as_udiff(legacy, day=dt.date(2024, 4, 1)))
    [first] = bars_ingest(path=udiff, progress=False)
    assert (first.status, first.layout, first.inserted) == (SUCCEEDED, "bse_udiff", 4099)
    instruments = set(Instrument.objects.filter(exchange="BSE").values_list("pk", "symbol"))
    [second] = bars_ingest(path=legacy, progress=False)
    assert (second.status, second.layout) == (SUCCEEDED, "bse_equity")
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, 4099)
    assert set(Instrument.objects.filter(exchange="BSE").values_list("pk", "symbol")) == instruments
    assert DailyBar.objects.filter(instrument__symbol="500002", instrument__exchange="BSE").count() == 1
