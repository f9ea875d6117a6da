"""Token authentication with the token lookup cached in-process, and revocation that reaches every process.

DRF's TokenAuthentication runs a join query per request; on the /predict hot path that query is
a large share of the budget. Tokens are cached in each process for up to ``TOKEN_CACHE_SECONDS``.

Revocation takes effect at once everywhere: deleting a token, deactivating a user or deleting one
bumps a generation number in the shared cache (``tokens_revoked``), and every process compares it
(one Redis GET per request) with the generation its cached entry was made under. Without a shared
cache, or while it fails, nothing is served from the process cache: every request looks the token
up in the database (the fallback). Bulk ``QuerySet.update(is_active=False)`` sends no signal: call
``tokens_revoked()`` after it.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

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
_UNKNOWN = object()  # no shared cache to ask, or it failed: do not trust the process cache

_lock = threading.Lock()
# key -> (expires at, generation it was cached under, user, token)
_cache: dict[str, tuple[float, Any, AbstractBaseUser, Token]] = {}


def forget_token(key: str) -> None:
    with _lock:
        _cache.pop(key, None)


def forget_all_tokens() -> None:
    with _lock:
        _cache.clear()


def _generation() -> Any:
    if not sharedcache.is_shared():
        return _UNKNOWN
    return sharedcache.guarded(lambda: cache.get(GENERATION_KEY), _UNKNOWN)


def tokens_revoked() -> None:
    """Every process drops its cached tokens before its next request (a token or user lost access)."""
    forget_all_tokens()
    try:
        cache.set(GENERATION_KEY, time.time_ns(), timeout=None)
    except Exception:  # the others fall back to the database while the cache fails, so they see it too
        logger.warning("could not publish the token revocation to the shared cache", exc_info=True)


class CachedTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key: str) -> tuple[AbstractBaseUser, Token]:
        now = time.monotonic()
        generation = _generation()
        with _lock:
            hit = _cache.get(key)
        if hit is not None and hit[0] > now and generation is not _UNKNOWN and hit[1] == generation:
            return hit[2], hit[3]
        user, token = super().authenticate_credentials(key)
        if not user.is_active:  # pragma: no cover - DRF already refuses inactive users
            raise AuthenticationFailed("User inactive or deleted.")
        if generation is not _UNKNOWN:
            with _lock:
                if len(_cache) > 10_000:
                    _cache.clear()
                _cache[key] = (now + TOKEN_CACHE_SECONDS, generation, user, token)
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
