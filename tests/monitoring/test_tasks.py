"""The beat tasks: thin, skip exchange holidays, and call one service each."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

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
    monkeypatch.setattr(common_tasks.timezone, "localdate", lambda: REPUBLIC_DAY)
    window = seed_window(two_versions[1], tp=50, fp=50, fn=50)
    result = tasks.check_degradation.apply(kwargs={"day": window.sessions[-1].isoformat()}).get()
    report = PerformanceReport.objects.get()
    assert result == {"status": "none", "report_id": report.pk, "as_of": str(window.sessions[-1]), "f1": 0.5}


def test_check_degradation_command_reports_figures_and_the_estimate(
    two_versions: tuple[ModelVersion, ModelVersion], seed_window: Callable[..., SeededWindow]
) -> None:
    window = seed_window(two_versions[1], tp=47, fp=53, fn=53)
    out = StringIO()
    call_command("check_degradation", "--min-positives", "50", "--window-days", "20", stdout=out)
    text = out.getvalue()
    assert "realised F1 0.470" in text
    assert "vs test F1 0.500" in text
    assert f"ESTIMATE for {window.sessions[-1]}" in text
    assert "action: alert" in text


def test_check_degradation_command_rollback_names_the_target(
    two_versions: tuple[ModelVersion, ModelVersion], seed_window: Callable[..., SeededWindow]
) -> None:
    seed_window(two_versions[1], tp=40, fp=60, fn=60)
    out = StringIO()
    call_command("check_degradation", "--min-positives", "50", stdout=out)
    assert f"rolled back to {two_versions[0].label}" in out.getvalue()


@pytest.mark.django_db
def test_check_degradation_command_errors_are_command_errors() -> None:
    out = StringIO()
    call_command("check_degradation", stdout=out)
    assert "nothing to check" in out.getvalue()
    with pytest.raises(CommandError, match="at least 1"):
        call_command("check_degradation", "--window-days", "0")


def test_check_degradation_command_without_bars(two_versions: tuple[ModelVersion, ModelVersion]) -> None:
    with pytest.raises(CommandError, match="ingest bhavcopy"):
        call_command("check_degradation", "--date", "2024-01-25")


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
