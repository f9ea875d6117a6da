"""Logging configuration: JSON lines with the trace id, to stderr and to files that rotate safely.

Files (``vcp.log`` for the application, ``audit.log`` for the prediction audit trail, logger
``vcp.audit``) are written by every gunicorn worker and Celery process at once, so they are opened
in append mode by ``WatchedFileHandler`` and rotated by ONE outside writer, logrotate
(deploy/logrotate/vcp: daily, 30 kept): each process notices the rename and reopens the file, and no
line is lost. (Per-process ``TimedRotatingFileHandler``s, as before, each rotated the shared file on
their own and lost lines at midnight: tests/common/test_logging_rotation.py.) Where the platform
collects stdout (Docker, Kubernetes), ``VCP_LOG_TO_FILE=0`` sends everything to the console instead.
The same configuration serves web processes and Celery workers (vcp_platform/celery.py applies it
on ``setup_logging``), so a task's lines carry the trace id of the request that queued it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from common.tracing import get_trace_id


class TraceIdFilter(logging.Filter):
    """Stamp every record with the current trace id (or "-" outside a request or task)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "trace_id", None):
            record.trace_id = get_trace_id() or "-"
        return True


# Days of rotated files logrotate keeps (deploy/logrotate/vcp), and how far back the audit query reads.
DEFAULT_RETENTION_DAYS = 30


def build_logging_config(
    *, log_dir: Path, json_format: bool, to_file: bool, level: str, retention_days: int = DEFAULT_RETENTION_DAYS
) -> dict[str, Any]:
    formatter = "json" if json_format else "plain"
    handlers: dict[str, dict[str, Any]] = {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": formatter,
            "filters": ["trace_id"],
        },
    }
    if to_file:
        log_dir.mkdir(parents=True, exist_ok=True)
        for name, filename in (("file", "vcp.log"), ("audit_file", "audit.log")):
            handlers[name] = {
                "class": "logging.handlers.WatchedFileHandler",
                "filename": str(log_dir / filename),
                "encoding": "utf-8",
                "formatter": "json",
                "filters": ["trace_id"],
                "delay": True,
            }
    app_handlers = ["console", "file"] if to_file else ["console"]
    audit_handlers = ["audit_file"] if to_file else ["console"]
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"trace_id": {"()": "common.logging.TraceIdFilter"}},
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(trace_id)s",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            },
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(trace_id)s] %(message)s"},
        },
        "handlers": handlers,
        "root": {"handlers": app_handlers, "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            # django-axes logs every login at INFO; failures and lockouts are WARNING.
            "axes": {"level": "WARNING"},
            # The prediction audit trail: its own file, never silenced by LOG_LEVEL.
            "vcp.audit": {"handlers": audit_handlers, "level": "INFO", "propagate": False},
        },
    }
