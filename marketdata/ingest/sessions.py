"""Which dates of a file were trading sessions: the calendar first, then the file's own rows. Pure.

A date the calendar lists (XBOM, Muhurat, and the special sessions the caller passes as
``extra_sessions``) is a session. Any other date is judged from its rows, against the bars of the
session before it on the same exchange (taken from the file when it holds that day, else from the
caller's store):

- when at least ``REPEAT_SHARE`` (90%) of its symbols repeat that session's open, high, low, close
  and volume exactly, it is a **holiday repeat** (archives publish files named for holidays that
  carry the previous session's bars) and is refused;
- otherwise it is a **special session** (a Budget Saturday, a live DR-site session): accepted, and
  the caller records it so that the calendar knows it from then on;
- without the previous session's bars the two cannot be told apart, and the date is refused with
  what to load first.

Each date is judged on its own: a refused date never refuses the others.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from marketdata.calendar import CALENDAR_NAME, non_sessions, previous_session
from marketdata.ingest.errors import IngestError

REPEAT_SHARE = 0.9
# The values a holiday repeat copies from the previous session.
REPEAT_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close", "volume")

# (exchange, day) -> that day's stored bars: ``symbol`` and the REPEAT_COLUMNS (empty when none).
StoredBars = Callable[[str, dt.date], pd.DataFrame]


@dataclass(frozen=True)
class SessionCheck:
    """The dates of a file the calendar does not list: the ones refused, and the special sessions found.

    Both map a date to the reason, in words a person can act on.
    """

    refused: dict[dt.date, str] = field(default_factory=dict)
    special: dict[dt.date, str] = field(default_factory=dict)


def _not_a_session(day: dt.date) -> str:
    return f"{day} is not an NSE/BSE trading session ({CALENDAR_NAME} calendar)"


def repeated_share(day_rows: pd.DataFrame, previous: pd.DataFrame) -> float:
    """Share of ``day_rows``' symbols whose open, high, low, close and volume equal ``previous``' exactly."""
    if day_rows.empty:
        return 0.0
    before = previous.drop_duplicates("symbol").set_index("symbol")
    mine = day_rows.assign(symbol=day_rows["symbol"].astype(str)).set_index("symbol")
    before.index = before.index.astype(str)
    joined = mine[list(REPEAT_COLUMNS)].join(before[list(REPEAT_COLUMNS)], how="left", rsuffix="_before")
    same = np.ones(len(joined), dtype=bool)
    for name in REPEAT_COLUMNS:
        same &= joined[name].to_numpy(dtype=np.float64) == joined[f"{name}_before"].to_numpy(dtype=np.float64)
    return float(same.sum()) / len(joined)


def judge_dates(
    frame: pd.DataFrame,
    *,
    exchange: str,
    extra_sessions: Iterable[dt.date] = (),
    stored_bars: StoredBars | None = None,
) -> SessionCheck:
    """Judge every date of ``frame`` (a normalised frame) the calendar does not list.

    Raises IngestError when a date lies outside the calendar (before 1997): nothing can judge it.
    """
    dates = frame["date"].dropna()
    if dates.empty:
        return SessionCheck()
    sessions = set(extra_sessions)
    try:
        off = non_sessions(dates.to_numpy(dtype="datetime64[D]"), extra=sessions)
    except ValueError as exc:
        raise IngestError(str(exc)) from exc
    if not off:
        return SessionCheck()
    in_file = {pd.Timestamp(d).date() for d in np.unique(dates.to_numpy(dtype="datetime64[D]"))}
    check = SessionCheck()

    def rows_of(day: dt.date) -> pd.DataFrame:
        return frame.loc[frame["date"] == pd.Timestamp(day), ["symbol", *REPEAT_COLUMNS]]

    for day in off:
        previous = previous_session(day, extra=sessions)
        if previous in in_file and previous not in check.refused:
            before = rows_of(previous)
        elif stored_bars is not None:
            before = stored_bars(exchange, previous)
        else:
            before = pd.DataFrame(columns=["symbol", *REPEAT_COLUMNS])
        rows = rows_of(day)
        if before.empty:
            check.refused[day] = (
                f"{_not_a_session(day)} and the bars of the session before it ({previous}) are neither in this "
                f"file nor stored, so it cannot be told from a holiday repeat: load {previous} first, or, if "
                f"{day} was a special session, add it under Trading sessions in admin"
            )
            continue
        share = repeated_share(rows, before)
        if share >= REPEAT_SHARE:
            check.refused[day] = (
                f"{_not_a_session(day)} and {share:.0%} of its {len(rows)} symbols repeat the bars of {previous} "
                "exactly: a file named for a holiday that repeats the previous session, so its rows are refused"
            )
            continue
        check.special[day] = (
            f"{day} is not in the {CALENDAR_NAME} calendar, but only {share:.0%} of its {len(rows)} symbols repeat "
            f"the bars of {previous}: accepted as a special session"
        )
        sessions.add(day)
    return check
