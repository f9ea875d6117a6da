"""The Celery app and the daily schedule, declared here and nowhere else.

django-celery-beat's DatabaseScheduler copies ``BEAT_SCHEDULE`` into its tables when beat starts
(and ``manage.py sync_beat_schedule`` does the same on demand), so operators see and edit the
entries in Django admin. All times are IST, every day: each daily task asks
``marketdata.sessions.is_trading_session`` (the XBOM calendar plus the recorded special sessions,
such as a Budget Saturday) and records a SKIPPED run on any other day, because cron cannot know
the holiday list. The reaper runs every 10 minutes.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from celery import Celery, signals
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vcp_platform.settings")

app = Celery("vcp_platform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Every day, not Monday to Friday: special sessions fall on Saturdays and Sundays (Budget days, live
# DR-site sessions, Muhurat), and the session gate skips the rest with a record.
DAILY = "*"

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "fetch-bhavcopy-daily": {
        "task": "marketdata.tasks.fetch_bhavcopy_daily",
        "schedule": crontab(hour=18, minute=15, day_of_week=DAILY),
    },
    "ingest-bhavcopy-daily": {
        "task": "marketdata.tasks.ingest_bhavcopy_daily",
        "schedule": crontab(hour=18, minute=30, day_of_week=DAILY),
    },
    "check-degradation-daily": {
        "task": "monitoring.tasks.check_degradation",
        "schedule": crontab(hour=18, minute=40, day_of_week=DAILY),
    },
    "score-universe-daily": {
        "task": "predictions.tasks.score_universe_daily",
        "schedule": crontab(hour=18, minute=45, day_of_week=DAILY),
    },
    "check-drift-daily": {
        "task": "monitoring.tasks.check_drift",
        "schedule": crontab(hour=19, minute=15, day_of_week=DAILY),
    },
    "check-fetch-daily": {
        "task": "monitoring.tasks.check_fetch",
        "schedule": crontab(hour=20, minute=0, day_of_week=DAILY),
    },
    # The 1st of each month, after the evening's checks: a challenger, promoted only through the gate.
    "train-challenger-monthly": {
        "task": "modelregistry.tasks.train_challenger_monthly",
        "schedule": crontab(hour=21, minute=0, day_of_month=1),
    },
    "reap-stalled-runs": {
        "task": "common.tasks.reap_stalled_runs",
        "schedule": crontab(minute="*/10"),
    },
}
app.conf.beat_schedule = BEAT_SCHEDULE


# --- logging and metrics in worker processes ----------------------------------------------------
@signals.setup_logging.connect
def _use_django_logging(**_: Any) -> None:
    """Workers log through settings.LOGGING (JSON, trace id, rotated files) instead of Celery's own
    root handler: connecting this signal is what stops Celery from replacing the configuration."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


@signals.celeryd_init.connect
def _serve_worker_metrics(**_: Any) -> None:
    from django.conf import settings

    from common.metrics import connect_celery_signals

    port = settings.VCP_CELERY_METRICS_PORT
    # One port per pool process plus the main one: the first free of 16 consecutive ports.
    connect_celery_signals(metrics_ports=range(port, port + 16) if port else ())


# --- trace id propagation: the request's id travels in a message header ------------------------
TRACE_HEADER = "vcp_trace_id"


@signals.before_task_publish.connect
def _attach_trace_id(headers: dict[str, Any] | None = None, **_: Any) -> None:
    from common.tracing import get_trace_id

    trace_id = get_trace_id()
    if headers is not None and trace_id and TRACE_HEADER not in headers:
        headers[TRACE_HEADER] = trace_id


# task id -> the token that restores the caller's trace id. In eager mode the task runs inside the
# request, so it must inherit that id and give it back afterwards, not clear it.
_trace_tokens: dict[str, Any] = {}


@signals.task_prerun.connect
def _restore_trace_id(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    from common.tracing import clean_trace_id, get_trace_id, set_trace_id

    incoming = getattr(task.request, TRACE_HEADER, None) if task is not None else None
    trace_id = incoming or get_trace_id() or clean_trace_id(None)
    if task_id is not None:
        _trace_tokens[task_id] = set_trace_id(clean_trace_id(trace_id))


@signals.task_postrun.connect
def _clear_trace_id(task_id: str | None = None, **_: Any) -> None:
    from common.tracing import reset_trace_id

    token = _trace_tokens.pop(task_id, None) if task_id is not None else None
    if token is not None:
        with contextlib.suppress(ValueError):  # token from another context (thread pools): nothing to restore
            reset_trace_id(token)
