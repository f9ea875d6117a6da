"""The trading-session gate of the daily tasks (common.tasks)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from common import tasks
from common.tasks import day_of, session_skip_reason, trading_sessions_only

SATURDAY = dt.date(2024, 8, 3)
FRIDAY = dt.date(2024, 8, 2)


def _weekdays(day: dt.date) -> bool:
    return day.weekday() < 5


def test_a_session_runs_the_task_with_its_day_as_text() -> None:
    @trading_sessions_only(is_session=_weekdays)
    def task(day: str | None = None) -> dict[str, Any]:
        return {"ran": day}

    assert task(day=FRIDAY) == {"ran": "2024-08-02"}
    assert task(day="2024-08-02") == {"ran": "2024-08-02"}


def test_a_non_session_records_the_skip_and_does_not_run() -> None:
    recorded: list[tuple[dt.date, str]] = []

    class Record:
        pk = 41

    def record_skip(*, day: dt.date, reason: str) -> Record:
        recorded.append((day, reason))
        return Record()

    @trading_sessions_only(is_session=_weekdays, record_skip=record_skip)
    def task(day: str | None = None) -> dict[str, Any]:
        raise AssertionError("must not run on a non-session")

    result = task(day="2024-08-03")
    assert result["status"] == "skipped"
    assert result["record"] == 41
    assert recorded == [(SATURDAY, result["reason"])]
    assert "2024-08-03 is not an NSE/BSE trading session" in result["reason"]


def test_no_day_means_today_in_india(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tasks.timezone, "localdate", lambda: SATURDAY)
    assert day_of(None) == SATURDAY
    assert session_skip_reason(day_of(None), is_session=_weekdays) is not None
    assert session_skip_reason(FRIDAY, is_session=_weekdays) is None
