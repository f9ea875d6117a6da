"""A lost worker's messages come back within minutes, and no running task is ever delivered twice."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from vcp_platform.celery import BEAT_SCHEDULE, app

APPS = ("common.", "marketdata.", "features.", "modelregistry.", "predictions.", "monitoring.", "backtesting.")


def _tasks() -> dict[str, Any]:
    app.loader.import_default_modules()
    return {name: task for name, task in app.tasks.items() if name.startswith(APPS)}


def _longest_countdown(task: Any) -> float:
    """The longest wait Celery may put between a task's retries (an ETA message is held unacknowledged)."""
    if not getattr(task, "autoretry_for", ()):
        return 0.0
    backoff = getattr(task, "retry_backoff", False)
    if not backoff:
        return float(task.default_retry_delay)
    base = 1 if backoff is True else backoff
    return float(min(getattr(task, "retry_backoff_max", 600), base * 2 ** max(0, task.max_retries - 1)))


def test_the_visibility_timeout_is_derived_from_the_longest_acks_late_time_limit() -> None:
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    assert options["visibility_timeout"] == settings.VCP_ACKS_LATE_TIME_LIMIT + 60 == 11 * 60
    assert options["unacked_restore_interval"] == 10
    assert options["unacked_restore_throttle"] == 1
    assert app.conf.broker_transport_options["visibility_timeout"] == 11 * 60
    assert settings.CELERY_TASK_ACKS_LATE is False  # only short, idempotent tasks opt in


def test_every_acks_late_task_ends_before_the_broker_would_deliver_it_again() -> None:
    late = {name: task for name, task in _tasks().items() if task.acks_late}
    assert {
        "predictions.tasks.score_chunk",
        "predictions.tasks.finalize_batch",
        "predictions.tasks.score_universe_daily",
        "marketdata.tasks.ingest_bhavcopy_daily",
        "monitoring.tasks.check_drift",
        "monitoring.tasks.check_degradation",
        "monitoring.tasks.check_fetch",
    } <= set(late)
    too_long = {
        name: task.time_limit
        for name, task in late.items()
        if task.time_limit is None or task.time_limit > settings.VCP_ACKS_LATE_TIME_LIMIT
    }
    assert not too_long, f"acks_late tasks that may outlive the visibility timeout: {too_long}"
    assert all(task.reject_on_worker_lost for task in late.values())


def test_no_retry_waits_longer_than_the_visibility_timeout() -> None:
    # A retry's ETA message sits unacknowledged in the worker until it is due.
    waits = {name: _longest_countdown(task) for name, task in _tasks().items()}
    assert max(waits.values()) < settings.VCP_BROKER_VISIBILITY_TIMEOUT, waits


def test_long_tasks_are_acknowledged_when_they_start_and_leave_a_record_for_the_reaper() -> None:
    tasks = _tasks()
    for name in ("backtesting.tasks.backtest_execute", "backtesting.tasks.walk_forward_fold"):
        assert not tasks[name].acks_late
    assert not tasks["marketdata.tasks.fetch_bhavcopy_daily"].acks_late


def test_the_daily_cycle_runs_every_day_in_order_and_the_reaper_every_ten_minutes() -> None:
    def at(name: str) -> tuple[str, str, str]:
        cron = BEAT_SCHEDULE[name]["schedule"]
        return (cron._orig_hour, cron._orig_minute, cron._orig_day_of_week)

    assert at("fetch-bhavcopy-daily") == (18, 15, "*")
    assert at("ingest-bhavcopy-daily") == (18, 30, "*")
    assert at("score-universe-daily") == (18, 45, "*")
    assert at("check-fetch-daily") == (20, 0, "*")
    assert BEAT_SCHEDULE["reap-stalled-runs"]["schedule"]._orig_minute == "*/10"
    assert BEAT_SCHEDULE["reap-stalled-runs"]["task"] == "common.tasks.reap_stalled_runs"
