"""The beat tasks: thin, skip exchange holidays, and call one service each."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from common import tasks as common_tasks
from modelregistry.models import ModelVersion
from monitoring import tasks
from monitoring.choices import AlertKind
from monitoring.models import Alert, PerformanceReport
from monitoring.services import MonitoringError
from tests.monitoring.conftest import SeededWindow
from vcp_platform.celery import BEAT_SCHEDULE

REPUBLIC_DAY = dt.date(2024, 1, 26)  # a Friday, an NSE/BSE holiday
A_SESSION = dt.date(2024, 1, 25)


def test_beat_schedule_names_the_monitoring_tasks() -> None:
    names = {entry["task"] for entry in BEAT_SCHEDULE.values()}
    assert {tasks.check_drift.name, tasks.check_degradation.name} <= names


@pytest.mark.django_db  # the session calendar reads the special sessions recorded in the database
@pytest.mark.parametrize("task", [tasks.check_drift, tasks.check_degradation])
def test_scheduled_run_skips_an_exchange_holiday(task: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common_tasks.timezone, "localdate", lambda: REPUBLIC_DAY)
    result = task.apply().get()
    assert (result["date"], result["status"]) == ("2024-01-26", "skipped")
    assert "not an NSE/BSE trading session" in result["reason"]


@pytest.mark.django_db
@pytest.mark.parametrize("task", [tasks.check_drift, tasks.check_degradation])
def test_scheduled_run_on_a_session_calls_the_service(task: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common_tasks.timezone, "localdate", lambda: A_SESSION)
    assert task.apply().get() == {"status": "skipped", "reason": "no production version"}


def test_degradation_task_runs_as_of_the_session_it_is_given_whatever_the_clock_says(
    two_versions: tuple[ModelVersion, ModelVersion],
    seed_window: Callable[..., SeededWindow],
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings.VCP_DEGRADATION_MIN_POSITIVES = 50
    settings.VCP_DEGRADATION_WINDOW_DAYS = 20  # the seeded window's labelled days
    monkeypatch.setattr(common_tasks.timezone, "localdate", lambda: REPUBLIC_DAY)
    window = seed_window(two_versions[1], tp=50, fp=50, fn=50)
    result = tasks.check_degradation.apply(kwargs={"day": window.sessions[-1].isoformat()}).get()
    report = PerformanceReport.objects.get()
    assert report.pr_auc_lift is not None
    assert result == {
        "status": "none",
        "report_id": report.pk,
        "as_of": str(window.sessions[-1]),
        "f1": 0.5,
        "pr_auc_lift": report.pr_auc_lift,
    }


def test_a_check_that_cannot_run_fails_the_task_and_raises_one_alert(
    two_versions: tuple[ModelVersion, ModelVersion], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    # A production version but no bars at all: the check cannot run.
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(2):
            with pytest.raises(MonitoringError, match="no bars stored"):
                tasks.check_degradation.apply(kwargs={"day": "2024-01-25"}, throw=True)
    alert = Alert.objects.get()
    assert alert.kind == AlertKind.CHECK_FAILED
    assert alert.message.startswith("check_degradation could not run: no bars stored")
    assert alert.occurrences == 2
