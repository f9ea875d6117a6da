"""common/rediscache.py: Django's Redis cache with one redis-py client per pool, against the real Redis."""

from __future__ import annotations

import os
import threading

import pytest

from common.rediscache import ReusedClientRedisCache

pytestmark = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (make test sets it)")


def _cache() -> ReusedClientRedisCache:
    return ReusedClientRedisCache(os.environ["REDIS_URL"], {"KEY_PREFIX": "vcp-test-rediscache", "TIMEOUT": 30})


def test_every_operation_reuses_one_client_per_pool() -> None:
    cache = _cache()
    first = cache._cache.get_client(write=True)
    assert cache._cache.get_client("any-key", write=True) is first
    assert cache._cache.get_client(write=False) is first  # one server: reads and writes share the pool
    assert first.connection_pool is cache._cache._get_connection_pool(True)


def test_the_shared_client_serves_every_operation_and_thread() -> None:
    cache = _cache()
    cache.set_many({f"k{i}": i for i in range(20)})
    seen: list[dict[str, int]] = []

    def read() -> None:
        seen.append(cache.get_many([f"k{i}" for i in range(20)]))

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == [{f"k{i}": i for i in range(20)}] * 8
    assert cache.incr("k3", 5) == 8
    cache.delete_many([f"k{i}" for i in range(20)])
    assert cache.get("k3") is None
