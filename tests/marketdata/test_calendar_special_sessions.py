"""The pure calendar takes special sessions as an argument, so it works without a database."""

from __future__ import annotations

import datetime as dt

import pytest

from marketdata.calendar import is_trading_session, non_sessions, previous_session, session_index

BUDGET = dt.date(2025, 2, 1)  # a Saturday


def test_extra_sessions_join_the_calendar_only_when_given() -> None:
    assert not is_trading_session(BUDGET)
    assert is_trading_session(BUDGET, extra={BUDGET})
    week = session_index(dt.date(2025, 1, 27), dt.date(2025, 2, 2), extra=[BUDGET])
    assert [ts.date().isoformat() for ts in week] == [
        "2025-01-27",
        "2025-01-28",
        "2025-01-29",
        "2025-01-30",
        "2025-01-31",
        "2025-02-01",
    ]
    assert non_sessions(["2025-01-31", "2025-02-01", "2025-02-02"], extra={BUDGET}) == [dt.date(2025, 2, 2)]


def test_muhurat_sessions_stay_in_the_pure_calendar() -> None:
    assert is_trading_session(dt.date(2024, 11, 1))


def test_the_previous_session_skips_weekends_and_holidays_and_counts_extra_sessions() -> None:
    assert previous_session(dt.date(2024, 3, 25)) == dt.date(2024, 3, 22)  # Holi Monday -> Friday
    assert previous_session(dt.date(2025, 2, 3)) == dt.date(2025, 1, 31)
    assert previous_session(dt.date(2025, 2, 3), extra={BUDGET}) == BUDGET


def test_there_is_no_session_before_the_calendar_starts() -> None:
    with pytest.raises(ValueError, match="no XBOM session"):
        previous_session(dt.date(1997, 1, 1))
