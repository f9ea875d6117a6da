from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from marketdata.ingest.sessions import is_trading_session, non_sessions


def test_weekdays_that_were_exchange_holidays_are_not_sessions() -> None:
    assert not is_trading_session(dt.date(2024, 3, 25))  # Holi
    assert not is_trading_session(dt.date(2024, 4, 13))  # Saturday
    assert is_trading_session(dt.date(2024, 4, 1))


def test_muhurat_sessions_count_as_trading_days() -> None:
    # Diwali evening sessions, which XBOM lists as holidays; the real 2015-2022 data has bars on them.
    assert is_trading_session(dt.date(2021, 11, 4))
    assert is_trading_session(dt.date(2023, 11, 12))  # a Sunday


def test_non_sessions_lists_each_offending_date_once() -> None:
    days = np.array(["2024-04-01", "2024-03-25", "2024-03-25", "2024-04-13"], dtype="datetime64[D]")
    assert non_sessions(days) == [dt.date(2024, 3, 25), dt.date(2024, 4, 13)]


def test_a_date_beyond_the_calendar_is_an_error_not_a_holiday() -> None:
    with pytest.raises(ValueError, match=r"outside the XBOM calendar .* upgrade exchange_calendars"):
        is_trading_session(dt.date(2099, 1, 5))
