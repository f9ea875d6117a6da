"""Two cache tiers for the serving path: an in-process TTL LRU in front of the shared Django cache.

The local tier answers in microseconds and needs no network; the shared tier (Redis in production)
lets every web process reuse work done by another one and by the nightly batch, which warms it.

- Features: 5 minutes. Keys carry the feature-set hash, so a new feature definition never reads
  old vectors; the short TTL bounds how long a corrected bar can be served stale.
- Predictions: 1 hour. Keys carry the model version id and the feature-set hash, so a promotion or
  rollback switches to fresh keys at once and can never serve another version's answer. The nightly
  batch's own answers stay ``BATCH_PREDICTIONS_TTL`` (36 hours): the desk asks at the next open,
  ~15 hours after the batch, and a rerun of the batch (after a bar correction) writes them again.

A Redis failure degrades to a miss (logged once per outage, ``common.sharedcache``), never to a
failed request. Hit and miss counts go to
Prometheus (``common.metrics.observe_cache``) and to in-process counters shown on
/api/v1/health/ready.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any

from cachetools import TTLCache
from django.core.cache import cache as shared_cache

from common import sharedcache
from common.metrics import observe_cache

logger = logging.getLogger("vcp.cache")

FEATURES_TTL = 5 * 60
PREDICTIONS_TTL = 60 * 60
BATCH_PREDICTIONS_TTL = 36 * 60 * 60
KEY_VERSION = "v1"

_stats_lock = threading.Lock()
_stats: Counter[tuple[str, str, bool]] = Counter()


def _count(tier: str, kind: str, hits: int, misses: int) -> None:
    if hits:
        with _stats_lock:
            _stats[(tier, kind, True)] += hits
    if misses:
        with _stats_lock:
            _stats[(tier, kind, False)] += misses
    for _ in range(hits):
        observe_cache(tier=tier, kind=kind, hit=True)
    for _ in range(misses):
        observe_cache(tier=tier, kind=kind, hit=False)


class TwoTierCache:
    """``kind`` names the metric label ("features" or "prediction"); values must pickle."""

    def __init__(self, *, kind: str, ttl: float, maxsize: int, timer: Callable[[], float] = time.monotonic) -> None:
        self.kind = kind
        self.ttl = ttl
        self._lock = threading.Lock()
        self._local: TTLCache[str, Any] = TTLCache(maxsize=maxsize, ttl=ttl, timer=timer)
        self._warmed: set[Hashable] = set()

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        wanted = list(dict.fromkeys(keys))
        found: dict[str, Any] = {}
        with self._lock:
            for key in wanted:
                value = self._local.get(key)
                if value is not None:
                    found[key] = value
        missing = [k for k in wanted if k not in found]
        _count("local", self.kind, len(found), len(missing))
        if not missing:
            return found
        # A cache outage must not fail predictions: it is a miss (the breaker skips Redis for a few
        # seconds after an error, so a hung Redis does not cost a socket timeout per request).
        shared: dict[str, Any] = sharedcache.guarded(lambda: shared_cache.get_many(missing), {})
        _count("redis", self.kind, len(shared), len(missing) - len(shared))
        if shared:
            with self._lock:
                self._local.update(shared)
            found.update(shared)
        return found

    def get(self, key: str) -> Any:
        return self.get_many([key]).get(key)

    def set_many(
        self, values: Mapping[str, Any], *, local: bool = True, shared: bool = True, shared_ttl: float | None = None
    ) -> None:
        """``shared_ttl``: the shared tier's lifetime for these values, when not the cache's own."""
        if not values:
            return
        if local:
            with self._lock:
                self._local.update(values)
        if not shared:
            return
        timeout = self.ttl if shared_ttl is None else shared_ttl
        sharedcache.guarded(lambda: shared_cache.set_many(dict(values), timeout=timeout), None)

    def clear_local(self) -> None:
        with self._lock:
            self._local.clear()
            self._warmed.clear()

    def warm_local_once(self, tag: Hashable, keys: Callable[[], Sequence[str]], *, chunk: int = 2000) -> int:
        """Copy ``keys()`` from the shared tier into this process's tier, once per ``tag`` (until
        ``clear_local``); how many were found. Not counted as lookups: nobody asked for them yet.

        On a failing shared cache nothing is copied and the tag is tried again on a later call."""
        with self._lock:
            if tag in self._warmed:
                return 0
            self._warmed.add(tag)
        if not sharedcache.is_shared():
            return 0
        wanted = list(keys())
        loaded = 0
        for start in range(0, len(wanted), chunk):
            part = wanted[start : start + chunk]
            found: dict[str, Any] | None = sharedcache.guarded(functools.partial(shared_cache.get_many, part), None)
            if found is None:
                with self._lock:
                    self._warmed.discard(tag)
                return loaded
            with self._lock:
                self._local.update(found)
            loaded += len(found)
        return loaded


features_cache = TwoTierCache(kind="features", ttl=FEATURES_TTL, maxsize=20_000)
predictions_cache = TwoTierCache(kind="prediction", ttl=PREDICTIONS_TTL, maxsize=50_000)


def features_key(*, feature_set_hash: str, instrument_id: int, date: dt.date) -> str:
    return f"{KEY_VERSION}:feat:{feature_set_hash[:16]}:{instrument_id}:{date.isoformat()}"


def prediction_key(*, version_id: int, feature_set_hash: str, instrument_id: int, date: dt.date, explain: bool) -> str:
    return (
        f"{KEY_VERSION}:pred:{version_id}:{feature_set_hash[:16]}:{instrument_id}:{date.isoformat()}"
        f":{'x' if explain else 'p'}"
    )


def cache_stats() -> dict[str, dict[str, dict[str, int]]]:
    """This process's lookups since start: ``{tier: {kind: {"hits", "misses"}}}``."""
    with _stats_lock:
        snapshot = dict(_stats)
    return {
        tier: {
            kind: {"hits": snapshot.get((tier, kind, True), 0), "misses": snapshot.get((tier, kind, False), 0)}
            for kind in (features_cache.kind, predictions_cache.kind)
        }
        for tier in ("local", "redis")
    }


def caches_clear_local() -> None:
    """Empty this process's tier (tests, and after bulk corrections of bars)."""
    features_cache.clear_local()
    predictions_cache.clear_local()
