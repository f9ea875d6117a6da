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

import atexit
import collections
import logging
import logging.handlers
import os
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

from common.tracing import get_trace_id


class TraceIdFilter(logging.Filter):
    """Stamp every record with the current trace id (or "-" outside a request or task)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "trace_id", None):
            record.trace_id = get_trace_id() or "-"
        return True


class _BatchQueue:
    """The queue of ``QueuedWatchedFileHandler``: ``put_nowait`` is a lock-free ``deque.append`` that
    wakes no one. A ``queue.Queue`` notified the writer thread on every record, and each wake-up
    handed it the GIL in the middle of a request (23% of a /predict worker's samples, py-spy)."""

    def __init__(self) -> None:
        self.records: collections.deque[logging.LogRecord] = collections.deque()

    def put_nowait(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class QueuedWatchedFileHandler(logging.handlers.QueueHandler):
    """A ``WatchedFileHandler`` behind a ``QueueHandler``: the caller only enqueues the record, and one
    thread per process formats the queued records (JSON) and appends them to the file every
    ``WRITE_INTERVAL`` seconds, in one write.

    The prediction audit writes one record per served prediction; formatting it and the ``stat`` +
    ``write`` + ``flush`` of ``WatchedFileHandler`` cost the request itself before (issue 14). Filters
    (the trace id) still run in the caller's thread, so each record keeps its request's trace id.
    The writer thread starts on the first record in each process (gunicorn forks workers after the
    master configured logging, and threads do not survive a fork); ``flush`` writes everything queued
    before it returns, and so does a normal exit. What is queued when a worker is SIGKILLed (at most
    ``WRITE_INTERVAL`` of records) is lost.
    """

    WRITE_INTERVAL = 0.1

    def __init__(self, filename: str, encoding: str | None = None, delay: bool = False) -> None:
        self.batch = _BatchQueue()
        super().__init__(self.batch)  # type: ignore[arg-type]  # only put_nowait is used
        self.target = logging.handlers.WatchedFileHandler(filename, encoding=encoding, delay=delay)
        self._pid: int | None = None
        self._wake = threading.Event()
        self._start_lock = threading.Lock()
        self._write_lock = threading.Lock()

    def setFormatter(self, fmt: logging.Formatter | None) -> None:  # noqa: N802 - logging's name
        super().setFormatter(fmt)
        self.target.setFormatter(fmt)  # the writer thread formats

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        # Only what must happen now: merge the arguments (they may change later) and render a traceback.
        record.msg = record.getMessage()
        record.args = None
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        return record

    def emit(self, record: logging.LogRecord) -> None:
        if self._pid != os.getpid():
            self._start()
        super().emit(record)

    def _start(self) -> None:
        with self._start_lock:
            if self._pid == os.getpid():
                return
            self.batch.records.clear()  # a parent's queued records are the parent's to write
            self._wake = threading.Event()
            self._write_lock = threading.Lock()
            threading.Thread(target=self._run, name="audit-writer", daemon=True).start()
            self._pid = os.getpid()
            atexit.register(self.flush)

    def _run(self) -> None:
        while True:
            self._wake.wait(self.WRITE_INTERVAL)
            self._wake.clear()
            self._write_queued()

    def _write_queued(self) -> None:
        with self._write_lock:
            records = self.batch.records
            if not records:
                return
            formatted: list[str] = []
            while records:
                record = records.popleft()
                try:
                    formatted.append(self.target.format(record))
                except Exception:
                    self.target.handleError(record)
            if not formatted:
                return
            self.target.acquire()
            try:
                # WatchedFileHandler.emit's own steps, once per batch: reopen after logrotate, append, flush.
                self.target.reopenIfNeeded()
                if self.target.stream is None:
                    self.target.stream = self.target._open()
                self.target.stream.write(self.target.terminator.join(formatted) + self.target.terminator)
                self.target.stream.flush()
            except Exception:
                if logging.raiseExceptions:
                    traceback.print_exc(file=sys.stderr)
            finally:
                self.target.release()

    def flush(self) -> None:
        self._write_queued()
        self.target.flush()

    def close(self) -> None:
        self.flush()
        self.target.close()
        super().close()


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
        # One record per served prediction: written off the request's thread (QueuedWatchedFileHandler).
        handlers["audit_file"]["class"] = "common.logging.QueuedWatchedFileHandler"
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
