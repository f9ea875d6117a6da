from __future__ import annotations

import datetime as dt
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from marketdata.calendar import end_for_start
from marketdata.models import DailyBar, Instrument
from marketdata.synthetic import generate_market

ARGS = {"stocks": 25, "days": 40, "seed": 11, "start": "2024-01-01"}
FIELDS = ("open", "high", "low", "close", "last", "prev_close", "volume", "turnover", "trades")


def _run(**options: object) -> str:
    out = StringIO()
    call_command("generate_market", stdout=out, stderr=StringIO(), verbosity=0, **options)
    return out.getvalue()


def _stored() -> pd.DataFrame:
    rows = DailyBar.objects.values_list("instrument__symbol", "date", "series", *FIELDS)
    frame = pd.DataFrame.from_records(list(rows), columns=["symbol", "date", "series", *FIELDS])
    return frame.sort_values(["date", "symbol"], kind="stable").reset_index(drop=True)


def _expected() -> pd.DataFrame:
    end = end_for_start(start=dt.date.fromisoformat(str(ARGS["start"])), days=int(ARGS["days"]))
    return generate_market(stocks=25, days=40, seed=11, end=end).bars


@pytest.mark.django_db
def test_command_writes_the_market_and_a_rerun_changes_nothing() -> None:
    summary = _run(**ARGS)
    expected = _expected()
    stored = _stored()
    assert len(stored) == len(expected)
    assert Instrument.objects.filter(exchange="NSE").count() == expected["symbol"].nunique()
    assert (stored["symbol"].to_numpy() == expected["symbol"].to_numpy()).all()
    assert (stored["date"].to_numpy() == expected["date"].dt.date.to_numpy()).all()
    for name in FIELDS:
        np.testing.assert_array_equal(stored[name].to_numpy(np.float64), expected[name].to_numpy(np.float64))
    inst = Instrument.objects.get(symbol=expected["symbol"].iloc[0])
    assert inst.isin == expected["isin"].iloc[0]
    assert inst.name == expected["name"].iloc[0]
    assert f"{len(expected)} bars" in summary
    assert "upper-circuit rate" in summary
    assert f"inserted {len(expected)}, updated 0" in summary

    again = _run(**ARGS)
    assert f"inserted 0, updated 0, unchanged {len(expected)}" in again
    assert _stored().equals(stored)


@pytest.mark.django_db
def test_out_writes_legacy_files_that_ingest_to_the_same_bars_as_the_direct_write(tmp_path: Path) -> None:
    summary = _run(out=tmp_path, **ARGS)
    files = sorted(tmp_path.glob("cm*bhav.csv"))
    assert len(files) == ARGS["days"]
    assert "wrote 40 files" in summary
    assert not DailyBar.objects.exists()

    call_command("ingest_bhavcopy", str(tmp_path), "--no-progress", stdout=StringIO())
    ingested = _stored()
    assert len(ingested) == len(_expected())
    # The direct write of the same seed finds every bar already there, equal.
    assert "inserted 0, updated 0" in _run(**ARGS)
    assert _stored().equals(ingested)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"stocks": 0, "days": 10, "seed": 1}, "--stocks must be between 1 and"),
        ({"stocks": 5, "days": 0, "seed": 1}, "--days must be between 1 and 5000"),
        ({"stocks": 5, "days": 5001, "seed": 1}, "--days must be between 1 and 5000"),
        ({"stocks": 5, "days": 10, "seed": -1}, "--seed must be >= 0"),
        (
            {"stocks": 5, "days": 10, "seed": 1, "start": "2024-13-01"},
            "--start: '2024-13-01' is not a date in the form YYYY-MM-DD",
        ),
        ({"stocks": 5, "days": 10, "seed": 1, "start": "1990-01-01"}, "before the XBOM calendar starts"),
        ({"stocks": 5, "days": 5000, "seed": 1, "start": "2020-01-01"}, "past today"),
    ],
)
def test_bad_arguments_are_refused_with_a_clear_error(options: dict[str, object], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        _run(**options)


def test_out_must_be_a_directory(tmp_path: Path) -> None:
    file = tmp_path / "not-a-dir"
    file.write_text("x")
    with pytest.raises(CommandError, match="is not a directory"):
        _run(stocks=2, days=2, seed=1, out=file)
