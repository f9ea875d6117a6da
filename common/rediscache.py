"""Django's Redis cache backend, with one redis-py client per connection pool instead of one per call.

Django's ``RedisCacheClient.get_client`` builds a new ``redis.Redis`` around the pool on every cache
operation; redis-py 5+ fills a response-callback table for each, which cost ~3% of a /predict worker's
Python time under load (issue 14, py-spy). A ``Redis`` object holds no connection of its own (each
command takes one from the pool), so sharing it between calls and threads is what redis-py intends.
The pool is still Django's (created lazily, per process after gunicorn's fork).
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class ReusedClientRedisCacheClient(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[Any, Any] = {}  # connection pool -> its one client

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        django_client: Any = self  # Django's private helpers, which django-stubs does not declare
        pool = django_client._get_connection_pool(write)
        client = self._clients.get(pool)
        if client is None:  # a race builds two for one pool once; either is fine
            client = self._clients[pool] = django_client._client(connection_pool=pool)
        return client


class ReusedClientRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = ReusedClientRedisCacheClient
