"""The NSE/BSE trading calendar, in one place: ingestion, the daily tasks and the synthetic market.

Pure (exchange_calendars, numpy, pandas; no Django). Sessions are exchange_calendars' "XBOM"
sessions, plus Muhurat evening sessions (which XBOM lists as Diwali holidays but NSE trades and the
real data has bars on), plus, past the last date whose holiday list exchange_calendars knows,
every weekday. That last rule keeps the daily pipeline running when the installed package's
holiday list runs out (4.13 ends 2026-12-31); it logs a warning once, naming the fix: upgrade
exchange_calendars. A holiday in that stretch then shows up as a missing file, not a skipped day.

Other special sessions (Budget Saturdays, live DR-site sessions, days ingestion found in the data)
live in the database (``marketdata.models.TradingSession``); the functions here take them as
``extra``, so this module stays usable without a database (the synthetic market).
"""

from __future__ import annotations

import datetime as dt
import logging
import warnings
from collections.abc import Iterable
from functools import lru_cache

import exchange_calendars as xcals
import numpy as np
import numpy.typing as npt
import pandas as pd
from pandas.errors import Pandas4Warning

logger = logging.getLogger(__name__)

CALENDAR_NAME = "XBOM"
# exchange_calendars records XBOM holidays back to 1997 only.
FIRST_DAY = dt.date(1997, 1, 1)

# Muhurat trading: a one-hour evening session on Diwali, which XBOM lists as a holiday. The real
# 2015-2022 NSE data has bars on the weekday ones; extend this list each year.
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
def xbom() -> xcals.ExchangeCalendar:
    with warnings.catch_warnings():
        # exchange_calendars 4.13 trips a pandas 3.1 deprecation while it builds; harmless until pandas 4.
        warnings.simplefilter("ignore", Pandas4Warning)
        return xcals.get_calendar(CALENDAR_NAME, start=FIRST_DAY.isoformat())


def calendar_bounds() -> tuple[dt.date, dt.date]:
    """First and last session whose holidays the installed calendar knows."""
    cal = xbom()
    return cal.first_session.date(), cal.last_session.date()


@lru_cache(maxsize=1)
def _warn_beyond_calendar() -> None:
    logger.warning(
        "exchange_calendars knows %s holidays only until %s: treating weekdays after it as sessions. "
        "Upgrade exchange_calendars to get the new holiday list.",
        CALENDAR_NAME,
        calendar_bounds()[1],
    )


def _check_start(day: dt.date) -> None:
    first, _ = calendar_bounds()
    if day < first:
        raise ValueError(f"{day} is before the {CALENDAR_NAME} calendar starts ({first}): no trading calendar for it")


def session_index(
    start: dt.date, end: dt.date, *, special: bool = True, extra: Iterable[dt.date] = ()
) -> pd.DatetimeIndex:
    """Sessions from ``start`` to ``end`` inclusive, ascending (weekdays past the calendar's end).

    ``special`` adds the Muhurat sessions; ``extra`` adds further session dates (the special sessions
    recorded in the database), wherever they fall.
    """
    _check_start(start)
    _, last = calendar_bounds()
    if start > last:
        known = pd.DatetimeIndex([])
    else:
        known = xbom().sessions_in_range(pd.Timestamp(start), pd.Timestamp(min(end, last)))
    if special:
        muhurat = [pd.Timestamp(d) for d in SPECIAL_SESSIONS if start <= d <= min(end, last)]
        known = known.union(pd.DatetimeIndex(muhurat))
    if end > last:
        _warn_beyond_calendar()
        known = known.union(pd.bdate_range(max(start, last + dt.timedelta(days=1)), end))
    added = [pd.Timestamp(d) for d in extra if start <= d <= end]
    if added:
        known = known.union(pd.DatetimeIndex(added))
    return known


def is_trading_session(day: dt.date, *, extra: Iterable[dt.date] = ()) -> bool:
    """True when NSE/BSE trade on ``day`` (special sessions and ``extra`` included; weekdays past the calendar)."""
    return len(session_index(day, day, extra=extra)) == 1


def non_sessions(dates: npt.ArrayLike, *, extra: Iterable[dt.date] = ()) -> list[dt.date]:
    """The distinct dates among ``dates`` that were not trading sessions (nor in ``extra``), ascending."""
    days = sorted({pd.Timestamp(d).date() for d in np.unique(np.asarray(dates, dtype="datetime64[D]"))})
    if not days:
        return []
    sessions = {ts.date() for ts in session_index(days[0], days[-1], extra=extra)}
    return [d for d in days if d not in sessions]


def previous_session(day: dt.date, *, extra: Iterable[dt.date] = ()) -> dt.date:
    """The last trading session strictly before ``day`` (``extra`` sessions included).

    Raises ValueError when the calendar has none (before it starts).
    """
    extra = tuple(extra)
    start = max(FIRST_DAY, day - dt.timedelta(days=30))
    if start >= day:
        raise ValueError(f"no {CALENDAR_NAME} session before {day}: the calendar starts on {FIRST_DAY}")
    sessions = session_index(start, day - dt.timedelta(days=1), extra=extra)
    if not len(sessions):
        raise ValueError(f"no {CALENDAR_NAME} session in the 30 days before {day}")
    return sessions[-1].date()


def trading_sessions(*, days: int, end: dt.date | None = None) -> npt.NDArray[np.datetime64]:
    """The last ``days`` XBOM sessions up to ``end`` (default: yesterday), without special sessions."""
    last = end if end is not None else dt.date.today() - dt.timedelta(days=1)
    # Sessions are ~70% of calendar days: look back far enough, then trim.
    start = max(FIRST_DAY, last - dt.timedelta(days=int(days * 1.6) + 30))
    sessions = session_index(start, last, special=False)
    if len(sessions) < days:
        raise ValueError(f"only {len(sessions)} {CALENDAR_NAME} sessions exist up to {last}, asked for {days}")
    return sessions[-days:].to_numpy().astype("datetime64[D]")


def end_for_start(*, start: dt.date, days: int) -> dt.date:
    """The session on which a run of ``days`` sessions starting at (or after) ``start`` ends."""
    sessions = session_index(start, start + dt.timedelta(days=int(days * 1.6) + 30), special=False)
    if len(sessions) < days:
        raise ValueError(f"could not find {days} sessions from {start}")
    return sessions[days - 1].date()
