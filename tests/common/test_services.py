"""The four run transitions every kind of run goes through (common.services)."""

from __future__ import annotations

import datetime as dt

import pytest

from common.choices import RunStatus
from common.services import run_fail, run_skip, run_start, run_succeed
from predictions.models import BatchRun

pytestmark = pytest.mark.django_db


def test_a_run_starts_then_succeeds_with_its_wall_time_in_the_timings() -> None:
    run = run_start(BatchRun(date=dt.date(2024, 8, 2)))
    assert (run.status, run.finished_at, run.error) == (RunStatus.RUNNING, None, "")
    assert run.created_at is not None
    assert run.started_at is not None
    run.timings = {"score": 0.5}
    run_succeed(run)
    stored = BatchRun.objects.get(pk=run.pk)
    assert stored.status == RunStatus.SUCCEEDED
    assert stored.finished_at >= stored.started_at
    assert stored.seconds == stored.timings["total"] >= 0.0
    assert stored.timings["score"] == 0.5


def test_a_failure_records_the_error_and_a_late_failure_cannot_undo_a_success() -> None:
    failed = run_fail(run_start(BatchRun(date=dt.date(2024, 8, 2))), error="disk full")
    assert (failed.status, failed.error) == (RunStatus.FAILED, "disk full")
    done = run_succeed(run_start(BatchRun(date=dt.date(2024, 8, 5))))
    run_fail(done, error="a late errback")
    assert BatchRun.objects.get(pk=done.pk).status == RunStatus.SUCCEEDED


def test_a_skip_records_the_reason_as_the_note() -> None:
    run = run_skip(run_start(BatchRun(date=dt.date(2024, 8, 15))), reason="Independence Day")
    stored = BatchRun.objects.get(pk=run.pk)
    assert (stored.status, stored.note, stored.error) == (RunStatus.SKIPPED, "Independence Day", "")
    assert stored.finished


def test_a_rerun_starts_clean_and_only_saves_the_fields_named() -> None:
    run = run_fail(run_start(BatchRun(date=dt.date(2024, 8, 2))), error="first attempt")
    BatchRun.objects.filter(pk=run.pk).update(scored=7)  # a chunk counted meanwhile
    run_start(run)
    stored = BatchRun.objects.get(pk=run.pk)
    assert (stored.status, stored.error, stored.finished_at, stored.seconds) == (RunStatus.RUNNING, "", None, None)
    assert stored.scored == 7  # the stale in-memory counter was not written back
