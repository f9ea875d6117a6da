"""The trading-session gate shared by the daily Celery tasks, and the reaper of stalled runs.

Beat's crontab fires every day; only the exchange calendar (with the recorded special sessions)
knows which days are sessions. Each daily task is wrapped in ``@trading_sessions_only(...)``: on a
day that is no session it records the skip (through the task's own ``record_skip``, so the staff
pages show a SKIPPED run with the reason) and returns without running. The command line applies
the same gate through ``session_skip_reason``.

``reap_stalled_runs`` (beat, every 10 minutes) fails the runs whose worker was lost
(``common.services.runs_reap``).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable
from typing import Any, ParamSpec, Protocol

from celery import shared_task
from django.utils import timezone

from common.services import runs_reap

logger = logging.getLogger("vcp.tasks")

P = ParamSpec("P")


class SkipRecorder(Protocol):
    def __call__(self, *, day: dt.date, reason: str) -> Any: ...


def session_skip_reason(day: dt.date, *, is_session: Callable[[dt.date], bool]) -> str | None:
    """Why ``day`` has nothing to run (it is no trading session), or None when it is a session."""
    if is_session(day):
        return None
    return f"{day} is not an NSE/BSE trading session (XBOM calendar)"


def day_of(value: str | dt.date | None) -> dt.date:
    """A task's ``day`` argument: ISO text from a message, a date, or None for today in India."""
    if value is None:
        return timezone.localdate()
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def trading_sessions_only(
    *, is_session: Callable[[dt.date], bool], record_skip: SkipRecorder | None = None
) -> Callable[[Callable[..., dict[str, Any]]], Callable[..., dict[str, Any]]]:
    """Run the task only when its ``day`` keyword (default: today, IST) is a trading session.

    ``is_session`` is the calendar to ask (``marketdata.sessions.is_trading_session``);
    ``record_skip(day=, reason=)`` writes the skipped run record and returns it (or None).
    """

    def decorate(task: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        @functools.wraps(task)
        def gated(*args: Any, day: str | dt.date | None = None, **kwargs: Any) -> dict[str, Any]:
            resolved = day_of(day)
            reason = session_skip_reason(resolved, is_session=is_session)
            if reason is None:
                return task(*args, day=resolved.isoformat(), **kwargs)
            record = record_skip(day=resolved, reason=reason) if record_skip is not None else None
            logger.info("%s skipped: %s", task.__name__, reason, extra={"day": str(resolved)})
            return {"date": str(resolved), "status": "skipped", "reason": reason, "record": getattr(record, "pk", None)}

        return gated

    return decorate


@shared_task(name="common.tasks.reap_stalled_runs", soft_time_limit=4 * 60, time_limit=5 * 60)
def reap_stalled_runs() -> dict[str, Any]:
    """Beat, every 10 minutes: fail the runs of every kind whose worker was lost (``runs_reap``)."""
    reaped = runs_reap()
    for run in reaped:
        logger.warning("reaped %s %s: %s", type(run).__name__, run.pk, run.error)
    return {"reaped": [f"{type(run).__name__}:{run.pk}" for run in reaped]}
