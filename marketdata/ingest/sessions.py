"""NSE/BSE trading sessions: the XBOM calendar plus the special sessions it does not know.

Dates are ``datetime.date`` or numpy ``datetime64[D]`` arrays (one value per date, any length).
"""

from __future__ import annotations

import datetime as dt
import warnings
from functools import lru_cache

import exchange_calendars as xc
import numpy as np
import numpy.typing as npt
import pandas as pd
from pandas.errors import Pandas4Warning

CALENDAR_NAME = "XBOM"
CALENDAR_START = "2000-01-01"

# Muhurat trading: a one-hour evening session on Diwali, which XBOM lists as a holiday. The real
# 2015-2022 NSE data has bars on the weekday ones below; extend this list each year.
SPECIAL_SESSIONS: frozenset[dt.date] = frozenset(
    dt.date.fromisoformat(day)
    for day in (
        "2015-11-11",
        "2016-10-30",
        "2017-10-19",
        "2018-11-07",
        "2019-10-27",
        "2020-11-14",
        "2021-11-04",
        "2022-10-24",
        "2023-11-12",
        "2024-11-01",
        "2025-10-21",
    )
)


@lru_cache(maxsize=1)
def _calendar() -> xc.ExchangeCalendar:
    with warnings.catch_warnings():
        # exchange_calendars 4.13 trips a pandas 3.1 deprecation while it builds; harmless until pandas 4.
        warnings.simplefilter("ignore", Pandas4Warning)
        return xc.get_calendar(CALENDAR_NAME, start=CALENDAR_START)


def calendar_bounds() -> tuple[dt.date, dt.date]:
    """First and last session the installed calendar covers."""
    cal = _calendar()
    return cal.first_session.date(), cal.last_session.date()


def non_sessions(dates: npt.ArrayLike) -> list[dt.date]:
    """The distinct dates among ``dates`` that were not NSE/BSE trading sessions, ascending.

    Raises ``ValueError`` for a date outside the calendar's range, where the answer is unknown.
    """
    days = pd.DatetimeIndex(np.unique(np.asarray(dates, dtype="datetime64[D]")))
    first, last = calendar_bounds()
    outside = [d.date() for d in days if not first <= d.date() <= last]
    if outside:
        raise ValueError(
            f"{outside[0]} is outside the {CALENDAR_NAME} calendar ({first} to {last}): "
            "upgrade exchange_calendars to ingest it"
        )
    sessions = _calendar().sessions
    missing = days[~days.isin(sessions)]
    return [d.date() for d in missing if d.date() not in SPECIAL_SESSIONS]


def is_trading_session(day: dt.date) -> bool:
    """True when NSE/BSE trade on ``day``, special sessions included.

    Raises ``ValueError`` outside the calendar's range: a silent "no" there would stop the
    daily load without anyone noticing.
    """
    return not non_sessions([np.datetime64(day, "D")])
