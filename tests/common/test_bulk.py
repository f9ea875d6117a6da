"""bulk_upsert: one staging COPY + one INSERT ... ON CONFLICT; re-runs never duplicate or corrupt."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from common.bulk import bulk_upsert
from marketdata.models import Instrument
from predictions.models import FeatureSnapshot

pytestmark = pytest.mark.django_db

DAY = dt.date(2024, 5, 2)
FIELDS = ("instrument_id", "date", "feature_set_hash", "values", "source")


def _instruments(n: int) -> list[int]:
    return [Instrument.objects.create(symbol=f"S{k}").pk for k in range(n)]


def _write(ids: list[int], values: list[float | None], source: str = "batch") -> int:
    return bulk_upsert(
        model=FeatureSnapshot,
        fields=FIELDS,
        rows=[(i, DAY, "h", values, source) for i in ids],
        unique=("instrument_id", "date", "feature_set_hash"),
        update=("values", "source"),
    )


@pytest.fixture(params=["copy", "executemany"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "executemany":  # the SQLite statement, run here on PostgreSQL
        monkeypatch.setattr(connection, "vendor", "sqlite")
    return str(request.param)


def test_rerunning_the_same_rows_changes_nothing(path: str) -> None:
    ids = _instruments(3)
    assert _write(ids, [1.5, None]) == 3
    first = list(FeatureSnapshot.objects.order_by("pk").values_list("pk", "values", "created_at"))
    assert _write(ids, [1.5, None]) == 3
    assert list(FeatureSnapshot.objects.order_by("pk").values_list("pk", "values", "created_at")) == first
    assert first[0][1] == [1.5, None]


def test_changed_rows_are_updated_in_place_and_new_rows_added(path: str) -> None:
    ids = _instruments(3)
    _write(ids[:2], [1.0])
    created = dict(FeatureSnapshot.objects.values_list("instrument_id", "created_at"))
    _write(ids, [2.0], source="on_demand")
    rows = {i: (v, s) for i, v, s in FeatureSnapshot.objects.values_list("instrument_id", "values", "source")}
    assert rows == {i: ([2.0], "on_demand") for i in ids}
    assert FeatureSnapshot.objects.count() == 3
    kept = dict(FeatureSnapshot.objects.filter(instrument_id__in=ids[:2]).values_list("instrument_id", "created_at"))
    assert kept == created  # created_at is the first write's


def test_empty_strings_stay_empty_and_nothing_is_written_for_no_rows(path: str) -> None:
    [pk] = _instruments(1)
    assert _write([], [1.0]) == 0
    _write([pk], [1.0], source="")
    assert FeatureSnapshot.objects.get().source == ""
