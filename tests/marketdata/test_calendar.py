from __future__ import annotations

import datetime as dt
import logging

import numpy as np
import pytest

from marketdata.calendar import (
    calendar_bounds,
    end_for_start,
    is_trading_session,
    non_sessions,
    session_index,
    trading_sessions,
)


def test_weekdays_that_were_exchange_holidays_are_not_sessions() -> None:
    assert not is_trading_session(dt.date(2024, 3, 25))  # Holi
    assert not is_trading_session(dt.date(2024, 4, 13))  # Saturday
    assert is_trading_session(dt.date(2024, 4, 1))


def test_muhurat_sessions_count_as_trading_days() -> None:
    # Diwali evening sessions, which XBOM lists as holidays; the real 2015-2022 data has bars on them.
    assert is_trading_session(dt.date(2021, 11, 4))
    assert is_trading_session(dt.date(2023, 11, 12))  # a Sunday
    assert dt.date(2021, 11, 4) not in {
        d.date() for d in session_index(dt.date(2021, 11, 1), dt.date(2021, 11, 8), special=False)
    }


def test_non_sessions_lists_each_offending_date_once() -> None:
    days = np.array(["2024-04-01", "2024-03-25", "2024-03-25", "2024-04-13"], dtype="datetime64[D]")
    assert non_sessions(days) == [dt.date(2024, 3, 25), dt.date(2024, 4, 13)]
    assert non_sessions(np.array([], dtype="datetime64[D]")) == []


def test_beyond_the_installed_holiday_list_weekdays_are_sessions_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, last = calendar_bounds()
    monday = last + dt.timedelta(days=(7 - last.weekday()) % 7 or 7)
    with caplog.at_level(logging.WARNING, logger="marketdata.calendar"):
        assert is_trading_session(monday)
        assert not is_trading_session(monday + dt.timedelta(days=5))  # Saturday
    assert len(trading_sessions(days=10, end=monday + dt.timedelta(days=14))) == 10


def test_dates_before_the_calendar_are_an_error() -> None:
    with pytest.raises(ValueError, match="before the XBOM calendar starts"):
        is_trading_session(dt.date(1990, 1, 2))


def test_trading_sessions_and_end_for_start() -> None:
    assert trading_sessions(days=3, end=dt.date(2024, 5, 1))[-1] == np.datetime64("2024-04-30")
    assert end_for_start(start=dt.date(2024, 4, 27), days=2) == dt.date(2024, 4, 30)  # Sat -> Mon, Tue
    with pytest.raises(ValueError, match="sessions exist"):
        trading_sessions(days=100_000, end=dt.date(2000, 1, 5))


def test_the_pinned_calendar_knows_holidays_until_its_last_date_and_falls_back_after() -> None:
    # exchange_calendars==4.13.2 (requirements/serve.txt, the latest release on PyPI on 2026-12-01) lists
    # XBOM holidays up to 2026-12-31. When a release with the next year's list is pinned, this date moves:
    # update it, and docs/troubleshooting.md (problem 20) and docs/faq.md with it.
    assert calendar_bounds()[1] == dt.date(2026, 12, 31)
    assert not is_trading_session(dt.date(2026, 1, 26))  # Republic Day, a Monday: a known holiday
    assert is_trading_session(dt.date(2026, 12, 31))  # the last known session
    # Republic Day 2027 is a Tuesday: past the list, every weekday counts as a session (logged once).
    assert is_trading_session(dt.date(2027, 1, 26))
    assert not is_trading_session(dt.date(2027, 1, 23))  # a Saturday stays a non-session
    assert non_sessions(np.array(["2027-01-25", "2027-01-26", "2027-01-30"], dtype="datetime64[D]")) == [
        dt.date(2027, 1, 30)
    ]
