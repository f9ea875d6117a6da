"""Moving the run models onto the shared RunRecord keeps the rows made before it, with their times."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("predictions", "0002_snapshot_source_batchrun_note"), ("marketdata", "0001_initial")]
AFTER = [("predictions", "0003_run_record"), ("marketdata", "0002_run_record")]


@pytest.fixture
def back_to_latest() -> Iterator[None]:
    """Whatever the test does to the schema, the database ends on the latest migrations."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_batch_and_ingest_runs_keep_their_rows_and_start_times(back_to_latest: None) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    started = dt.datetime(2024, 8, 2, 13, 15, tzinfo=dt.UTC)
    finished = started + dt.timedelta(seconds=42.5)
    BatchRun = apps.get_model("predictions", "BatchRun")
    IngestRun = apps.get_model("marketdata", "IngestRun")
    batch = BatchRun.objects.create(date=dt.date(2024, 8, 2), status="succeeded", scored=12, finished_at=finished)
    BatchRun.objects.filter(pk=batch.pk).update(started_at=started)  # auto_now_add: set after the insert
    ingest = IngestRun.objects.create(source="nse_01AUG2024.csv", status="succeeded", seconds=3.0)
    IngestRun.objects.filter(pk=ingest.pk).update(started_at=started)

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    apps = executor.loader.project_state(AFTER).apps
    moved = apps.get_model("predictions", "BatchRun").objects.get(pk=batch.pk)
    assert (moved.status, moved.scored, moved.started_at, moved.created_at) == ("succeeded", 12, started, started)
    assert moved.seconds == 42.5
    kept = apps.get_model("marketdata", "IngestRun").objects.get(pk=ingest.pk)
    assert (kept.source, kept.status, kept.created_at, kept.seconds) == ("nse_01AUG2024.csv", "succeeded", started, 3.0)
