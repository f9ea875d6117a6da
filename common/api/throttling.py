"""Per-token throttling: each API token (or staff user) gets its own request budget.

A fixed-window counter in the shared cache (Redis in production), counted in batches. Each process
keeps its own pending count per key and adds it to the shared counter in ONE pipelined round trip
(``SET NX EX`` + ``INCRBY``) when any of these holds:

- it has ``SYNC_EVERY`` requests pending, or the last sync is ``SYNC_SECONDS`` old;
- the key's budget is nearly spent: within ``SYNC_EVERY * HEADROOM_PROCESSES`` of the limit every
  request syncs, so the limit is exact where it matters (a 3/min budget is enforced request by request).

Far from the limit a request costs no round trip at all: the per-request ``EXISTS`` + ``INCR`` this
replaces cost 1.8 ms of the hot path's 3.6 ms (issue 14). The price: while the budget is far from
spent, the shared count lags by at most ``SYNC_EVERY`` requests per process, and, as with any fixed
window, up to twice the rate can pass across a window boundary. DRF's ``SimpleRateThrottle`` instead
rewrites a list of every request's timestamp per call (a 50 kB value at 6,000/min). A cache outage
lets requests through (logged once, ``common.sharedcache``) rather than failing them.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from common import sharedcache

if TYPE_CHECKING:  # importing views at runtime would be circular: DRF loads this from settings
    from rest_framework.views import APIView

logger = logging.getLogger("vcp.api")

SYNC_EVERY = 64  # requests a process may count locally before it adds them to the shared counter
SYNC_SECONDS = 0.5  # and the longest it waits before it does
HEADROOM_PROCESSES = 8  # processes assumed to lag at once when deciding that the budget is "nearly spent"


@dataclass
class _Window:
    """One key's fixed window as this process sees it."""

    window: int
    shared: int = 0  # the shared count as of the last sync (every process's requests)
    pending: int = 0  # this process's requests not yet added to it
    synced_at: float = 0.0


_lock = threading.Lock()
_windows: dict[str, _Window] = {}


def throttle_state_clear() -> None:
    """Forget this process's pending counts (tests; the shared counters expire on their own)."""
    with _lock:
        _windows.clear()


def shared_count_add(key: str, delta: int, *, timeout: int) -> int:
    """Add ``delta`` to the shared counter ``key`` (created with ``timeout``); the new total.

    On Redis one pipelined round trip; on any other cache backend ``add`` + ``incr``."""
    if not sharedcache.is_shared():
        cache.add(key, 0, timeout=timeout)
        return int(cache.incr(key, delta))
    full_key = cache.make_and_validate_key(key)
    # Django's RedisCache keeps the redis-py client behind ``_cache``; its ``incr`` costs two round
    # trips (EXISTS, then INCRBY). Integers are stored raw, so INCRBY works on what ``add`` would write.
    client: Any = cache._cache.get_client(full_key, write=True)  # type: ignore[attr-defined]
    pipe = client.pipeline(transaction=False)
    pipe.set(full_key, 0, ex=timeout, nx=True)
    pipe.incrby(full_key, delta)
    return int(pipe.execute()[-1])


class TokenRateThrottle(SimpleRateThrottle):
    scope = "token"
    num_requests: int  # set from the rate by SimpleRateThrottle.__init__
    duration: int
    _wait_seconds: float | None = None

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        auth = request.auth
        if auth is not None and getattr(auth, "key", None):
            ident = f"token:{auth.key[:12]}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"anon:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request: Request, view: APIView) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        now = self.timer()
        window = int(now // self.duration)
        mono = time.monotonic()
        with _lock:
            state = _windows.get(key)
            if state is None or state.window != window:
                if len(_windows) > 10_000:  # old windows of idle tokens
                    _windows.clear()
                state = _windows[key] = _Window(window=window, synced_at=mono)
            state.pending += 1
            seen = state.shared + state.pending
            due = (
                state.shared == 0  # the first request of a window learns what the others spent
                or state.pending >= SYNC_EVERY
                or mono - state.synced_at >= SYNC_SECONDS
                or seen + SYNC_EVERY * HEADROOM_PROCESSES > self.num_requests
            )
            delta = state.pending if due else 0
            if due:
                state.pending = 0
        if due:
            # The budget is a protection, not a dependency: with the cache failing, fail open.
            total = sharedcache.guarded(
                lambda: shared_count_add(f"{key}:{window}", delta, timeout=int(self.duration) + 1), None
            )
            if total is None:
                return True
            with _lock:
                state.shared = max(state.shared, total)
                state.synced_at = mono
            seen = total
        if seen > self.num_requests:
            self._wait_seconds = self.duration - (now % self.duration)
            return False
        return True

    def wait(self) -> float | None:
        return self._wait_seconds
