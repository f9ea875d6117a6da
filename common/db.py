"""Database calls that cannot hang a worker: a client-side deadline on every query.

PostgreSQL enforces ``statement_timeout`` and ``lock_timeout`` itself, and libpq's
``connect_timeout`` bounds the connection start-up. None of them helps when the server or the
network stops answering altogether (a frozen host, a stalled proxy, a half-open connection): the
query then waits on its socket until gunicorn kills the worker (61 s, measured). So every query runs
under a deadline of ``VCP_DB_QUERY_DEADLINE_SECONDS``: a per-process watchdog thread shuts the
socket of a query that has run longer, libpq sees the connection close, and the request fails with
``OperationalError``, which the API answers 503 (docs/reliability.md). Django discards the broken
connection at the end of the request and opens a new one on the next.

Watched: ORM and cursor ``execute`` calls (Django's execute wrappers) and Django's connection health
check. Not watched: ``COPY`` streams (``marketdata.selectors.bars_frame``), which on the web side
only the on-demand feature path uses. 0 (the default outside gunicorn) turns the watchdog off.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

logger = logging.getLogger("vcp.db")


class QueryWatchdog:
    """Shuts the socket of a database call that outlives ``deadline`` seconds."""

    def __init__(self, deadline: float, *, tick: float = 0.1) -> None:
        self.deadline = deadline
        self.tick = tick
        self._lock = threading.Lock()
        self._active: dict[int, tuple[float, int]] = {}  # call id -> (started, socket fd)
        self._ids = itertools.count()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def _ensure_thread(self) -> None:
        # Started lazily, and again after a fork (gunicorn preloads the app in the master).
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
                return
            self._active.clear()
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._watch, name="vcp-db-watchdog", daemon=True)
            self._thread.start()

    def _watch(self) -> None:
        while True:
            time.sleep(self.tick)
            now = time.monotonic()
            with self._lock:
                late = [(key, fd) for key, (started, fd) in self._active.items() if now - started > self.deadline]
                for key, _ in late:
                    self._active.pop(key, None)
            for _, fd in late:
                self._cut(fd)

    def _cut(self, fd: int) -> None:
        logger.warning("database call exceeded its deadline; closing its connection", extra={"seconds": self.deadline})
        with contextlib.suppress(OSError):
            # shutdown() acts on the socket itself, so the dup'd descriptor reaches libpq's.
            sock = socket.socket(fileno=os.dup(fd))
            try:
                sock.shutdown(socket.SHUT_RDWR)
            finally:
                sock.close()

    @contextlib.contextmanager
    def watch(self, raw_connection: Any) -> Iterator[None]:
        """Run the body under the deadline, cutting ``raw_connection``'s socket (psycopg2) if it outlives it."""
        try:
            fd = raw_connection.fileno() if raw_connection is not None else -1
        except Exception:  # a closed connection: nothing to watch, the call itself will raise
            fd = -1
        if fd < 0:
            yield
            return
        self._ensure_thread()
        key = next(self._ids)
        with self._lock:
            self._active[key] = (time.monotonic(), fd)
        try:
            yield
        finally:
            with self._lock:
                self._active.pop(key, None)

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        """Django execute wrapper (``connection.execute_wrappers``)."""
        with self.watch(getattr(context.get("connection"), "connection", None)):
            return execute(sql, params, many, context)


_watchdog: QueryWatchdog | None = None


def install_query_deadline(*, deadline: float) -> None:
    """Watch every query of every PostgreSQL connection this process opens (idempotent)."""
    global _watchdog
    if deadline <= 0:
        return
    from django.db.backends.signals import connection_created

    _watchdog = QueryWatchdog(deadline)

    def attach(sender: Any, connection: Any, **_: Any) -> None:
        if connection.vendor == "postgresql" and _watchdog is not None and _watchdog not in connection.execute_wrappers:
            connection.execute_wrappers.append(_watchdog)

    connection_created.connect(attach, weak=False, dispatch_uid="vcp-db-query-deadline")
    _guard_health_check()


def _guard_health_check() -> None:
    """Django's persistent-connection health check (CONN_HEALTH_CHECKS) runs ``SELECT 1`` on the raw
    driver cursor, past the execute wrappers: put it under the same deadline."""
    from django.db.backends.postgresql.base import DatabaseWrapper

    original = DatabaseWrapper.is_usable
    if getattr(original, "_vcp_deadline", False):
        return

    def is_usable(self: Any) -> bool:
        if _watchdog is None:
            return bool(original(self))
        with _watchdog.watch(self.connection):
            return bool(original(self))

    is_usable._vcp_deadline = True  # type: ignore[attr-defined]
    DatabaseWrapper.is_usable = is_usable  # type: ignore[method-assign]
