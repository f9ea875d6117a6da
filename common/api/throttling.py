"""Per-token throttling: each API token (or staff user) gets its own request budget.

A fixed-window counter in the shared cache (Redis in production): an atomic increment per request,
O(1) whatever the rate. DRF's ``SimpleRateThrottle`` instead stores the timestamp of every request
in the window and rewrites the whole list per request, which at 6,000/min is a 50 kB value on
every call of the hot path. The price is the usual fixed-window burst: up to twice the rate across
a window boundary. A cache outage lets requests through (logged) rather than failing them.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from common import sharedcache

if TYPE_CHECKING:  # importing views at runtime would be circular: DRF loads this from settings
    from rest_framework.views import APIView

logger = logging.getLogger("vcp.api")


def _increment(key: str, *, timeout: int) -> int:
    try:
        return int(cache.incr(key))
    except ValueError:  # first request of the window
        if cache.add(key, 1, timeout=timeout):
            return 1
        return int(cache.incr(key))  # another process created it meanwhile


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
        # The budget is a protection, not a dependency: with the cache failing, fail open.
        count = sharedcache.guarded(lambda: _increment(f"{key}:{window}", timeout=int(self.duration) + 1), None)
        if count is None:
            return True
        if count > self.num_requests:
            self._wait_seconds = self.duration - (now % self.duration)
            return False
        return True

    def wait(self) -> float | None:
        return self._wait_seconds
