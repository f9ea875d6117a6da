"""The shared cache (Redis in production) as an optional dependency: errors degrade, never fail.

Every hot-path user of the shared cache (the two serving cache tiers, the throttle, the model
loader's generation number, the token cache's revocation generation) goes through ``guarded``: the
first error opens a per-process breaker for ``VCP_SHARED_CACHE_COOLDOWN_SECONDS`` (5 s), during
which calls return their fallback at once instead of waiting for a socket timeout again. So a hung
Redis costs one request per process per cooldown the socket timeout (``VCP_REDIS_TIMEOUT_SECONDS``),
not every request; a refused connection costs nothing noticeable. The next call after the cooldown
tries Redis again, so recovery needs no restart.

``is_shared`` says whether the configured cache reaches other processes at all: with the embedded
local-memory cache it does not, and the callers fall back to the database (the loader) or to no
cross-process cache (the token cache).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.core.cache import caches

logger = logging.getLogger("vcp.cache")

T = TypeVar("T")

_LOCAL_BACKENDS = ("LocMemCache", "DummyCache")


class Breaker:
    """A per-process circuit breaker: closed (call through) until an error, then open for ``cooldown``."""

    def __init__(self, name: str, *, cooldown: Callable[[], float], clock: Callable[[], float] = time.monotonic):
        self.name = name
        self._cooldown = cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self._open_until = 0.0
        self._failures = 0

    @property
    def is_open(self) -> bool:
        return self._clock() < self._open_until

    def failed(self, exc: BaseException) -> None:
        with self._lock:
            first = self._failures == 0
            self._failures += 1
            self._open_until = self._clock() + self._cooldown()
        if first:  # one line per outage, not one per request
            logger.warning(
                "%s unavailable; degrading for %.0fs at a time until it answers",
                self.name,
                self._cooldown(),
                extra={"error": f"{type(exc).__name__}: {exc}"},
            )

    def succeeded(self) -> None:
        if self._failures:
            with self._lock:
                failures, self._failures, self._open_until = self._failures, 0, 0.0
            logger.info("%s answers again", self.name, extra={"failed_calls": failures})

    def reset(self) -> None:
        with self._lock:
            self._failures, self._open_until = 0, 0.0


def _cooldown() -> float:
    return float(getattr(settings, "VCP_SHARED_CACHE_COOLDOWN_SECONDS", 5.0))


breaker = Breaker("shared cache", cooldown=_cooldown)


def is_shared(alias: str = "default") -> bool:
    """Does the cache ``alias`` reach every process (Redis), rather than only this one (local memory)?"""
    return type(caches[alias]).__name__ not in _LOCAL_BACKENDS


def guarded(call: Callable[[], T], fallback: T) -> T:
    """``call()`` against the shared cache, or ``fallback`` while it is failing (logged once per outage)."""
    if breaker.is_open:
        return fallback
    try:
        result = call()
    except Exception as exc:  # any cache error: connection refused, timeout, protocol, OOM
        breaker.failed(exc)
        return fallback
    breaker.succeeded()
    return result


def available() -> bool:
    """False while the breaker is open (the last call failed less than a cooldown ago)."""
    return not breaker.is_open
