"""Token authentication with the token lookup cached in-process, and revocation that reaches every process.

DRF's TokenAuthentication runs a join query per request; on the /predict hot path that query is
a large share of the budget. Tokens are cached in each process for up to ``TOKEN_CACHE_SECONDS``.

Revocation takes effect at once everywhere: deleting a token, deactivating a user or deleting one
bumps a generation number in the shared cache and publishes on ``REVOCATION_CHANNEL``
(``tokens_revoked``). Each process keeps one subscriber thread on that channel: while it is
subscribed, a revocation empties the process's token cache the moment it is published, and a
request needs no Redis round trip (a GET of the generation per request cost ~1 ms of a ~4 ms
request under load, issue 14). While it is not (starting, Redis restarting), every request compares
the shared generation (one GET) with the one its cached entry was made under, as before; each
(re)subscription empties the cache, since messages may have been missed. Without a shared cache,
or while it fails, nothing is served from the process cache: every request looks the token up in
the database (the fallback). Bulk ``QuerySet.update(is_active=False)`` sends no signal: call
``tokens_revoked()`` after it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed

from common import sharedcache

logger = logging.getLogger("vcp.api")

TOKEN_CACHE_SECONDS = 30.0
GENERATION_KEY = "vcp:auth:token-generation"
REVOCATION_CHANNEL = "vcp:auth:token-revoked"
RESUBSCRIBE_SECONDS = 1.0
_UNKNOWN = object()  # no shared cache to ask, or it failed: do not trust the process cache

_lock = threading.Lock()
# key -> (expires at, generation it was cached under, user, token, local epoch when its lookup began)
_cache: dict[str, tuple[float, Any, AbstractBaseUser, Token, int]] = {}
# Bumped by every forget: an entry whose database lookup began before a revocation arrived, and was
# stored after it, is not trusted (its epoch is old).
_epoch = 0


def forget_token(key: str) -> None:
    global _epoch
    with _lock:
        _cache.pop(key, None)
        _epoch += 1


def forget_all_tokens() -> None:
    global _epoch
    with _lock:
        _cache.clear()
        _epoch += 1


def _generation() -> Any:
    if not sharedcache.is_shared():
        return _UNKNOWN
    return sharedcache.guarded(lambda: cache.get(GENERATION_KEY), _UNKNOWN)


def revocation_channel() -> str:
    """Pub/sub channels are server-wide, not per Redis database: the name carries this deployment's
    cache key prefix and database, so two deployments on one Redis never flush each other's tokens."""
    database = urlsplit(str(getattr(settings, "REDIS_URL", "") or "")).path.lstrip("/") or "0"
    return f"{cache.make_key(REVOCATION_CHANNEL)}:db{database}"


class RevocationListener:
    """This process's subscriber to ``REVOCATION_CHANNEL``: one daemon thread, started on first use in
    each process (gunicorn forks workers after the master imported this; threads do not survive it)."""

    def __init__(self) -> None:
        self._pid: int | None = None
        self._live = threading.Event()
        self._start_lock = threading.Lock()

    def live(self) -> bool:
        """Whether a published revocation reaches this process now (so the cache may be trusted)."""
        if self._pid != os.getpid():
            self._start()
        return self._live.is_set()

    def _start(self) -> None:
        with self._start_lock:
            if self._pid == os.getpid():
                return
            self._live = threading.Event()
            if not sharedcache.is_shared() or not getattr(settings, "REDIS_URL", None):
                self._pid = os.getpid()  # nothing to subscribe to: never live, the GET path decides
                return
            threading.Thread(target=self._run, name="token-revocations", daemon=True).start()
            self._pid = os.getpid()

    def _run(self) -> None:
        import redis

        while True:
            try:
                # Its own connection without the cache's 0.5 s socket timeout: a quiet channel is normal.
                url = str(settings.REDIS_URL)
                client = redis.Redis.from_url(url, socket_connect_timeout=2, health_check_interval=30)
                pubsub = client.pubsub()
                pubsub.subscribe(revocation_channel())
                for message in pubsub.listen():
                    forget_all_tokens()  # a revocation, or the subscription itself: messages may have been missed
                    if message.get("type") == "subscribe":
                        self._live.set()
            except Exception:  # Redis restarting or unreachable: fall back to the per-request GET
                logger.warning("token revocation channel lost; checking the generation per request", exc_info=True)
            self._live.clear()
            forget_all_tokens()
            time.sleep(RESUBSCRIBE_SECONDS)


revocations = RevocationListener()


def tokens_revoked() -> None:
    """Every process drops its cached tokens before its next request (a token or user lost access)."""
    forget_all_tokens()
    try:
        cache.set(GENERATION_KEY, time.time_ns(), timeout=None)
        if sharedcache.is_shared():
            client: Any = cache._cache.get_client(None, write=True)  # type: ignore[attr-defined]
            client.publish(revocation_channel(), b"1")
    except Exception:  # the others fall back to the database while the cache fails, so they see it too
        logger.warning("could not publish the token revocation to the shared cache", exc_info=True)


class CachedTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key: str) -> tuple[AbstractBaseUser, Token]:
        now = time.monotonic()
        with _lock:
            hit = _cache.get(key)
            epoch = _epoch
        fresh = hit is not None and hit[0] > now and hit[4] == epoch
        if fresh and revocations.live() and sharedcache.available():
            assert hit is not None
            return hit[2], hit[3]  # a revocation would have emptied the cache by now: no round trip
        generation = _generation()
        if fresh and generation is not _UNKNOWN and hit is not None and hit[1] == generation:
            return hit[2], hit[3]
        user, token = super().authenticate_credentials(key)
        if not user.is_active:  # pragma: no cover - DRF already refuses inactive users
            raise AuthenticationFailed("User inactive or deleted.")
        if generation is not _UNKNOWN:
            with _lock:
                if len(_cache) > 10_000:
                    _cache.clear()
                _cache[key] = (now + TOKEN_CACHE_SECONDS, generation, user, token, epoch)
        return user, token


def _on_token_deleted(sender: Any, instance: Token, **_: Any) -> None:
    forget_token(instance.key)
    tokens_revoked()


def _on_token_saved(sender: Any, instance: Token, created: bool = False, **_: Any) -> None:
    forget_token(instance.key)
    if not created:
        tokens_revoked()


def _on_user_saved(sender: Any, instance: AbstractBaseUser, **_: Any) -> None:
    if not instance.is_active:
        tokens_revoked()


def _on_user_deleted(sender: Any, instance: AbstractBaseUser, **_: Any) -> None:
    tokens_revoked()


def connect_revocation_signals() -> None:
    """Connected from ``common.apps`` in every process, so a deactivation in admin or in a command reaches all."""
    post_delete.connect(_on_token_deleted, sender=Token, dispatch_uid="vcp_token_deleted")
    post_save.connect(_on_token_saved, sender=Token, dispatch_uid="vcp_token_saved")
    post_save.connect(_on_user_saved, sender=settings.AUTH_USER_MODEL, dispatch_uid="vcp_user_saved")
    post_delete.connect(_on_user_deleted, sender=settings.AUTH_USER_MODEL, dispatch_uid="vcp_user_deleted")


connect_revocation_signals()
