"""Token authentication with the token lookup cached in-process.

DRF's TokenAuthentication runs a join query per request; on the /predict hot path that query is
a large share of the budget. Tokens are cached for a short TTL, so a token deleted in admin stops
working within ``TOKEN_CACHE_SECONDS`` (and at once in the process that deleted it).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models.signals import post_delete, post_save
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed

TOKEN_CACHE_SECONDS = 30.0

_lock = threading.Lock()
_cache: dict[str, tuple[float, AbstractBaseUser, Token]] = {}


def forget_token(key: str) -> None:
    with _lock:
        _cache.pop(key, None)


def forget_all_tokens() -> None:
    with _lock:
        _cache.clear()


class CachedTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key: str) -> tuple[AbstractBaseUser, Token]:
        now = time.monotonic()
        with _lock:
            hit = _cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1], hit[2]
        user, token = super().authenticate_credentials(key)
        if not user.is_active:  # pragma: no cover - DRF already refuses inactive users
            raise AuthenticationFailed("User inactive or deleted.")
        with _lock:
            if len(_cache) > 10_000:
                _cache.clear()
            _cache[key] = (now + TOKEN_CACHE_SECONDS, user, token)
        return user, token


def _on_token_change(sender: Any, instance: Token, **_: Any) -> None:
    forget_token(instance.key)


post_delete.connect(_on_token_change, sender=Token, dispatch_uid="vcp_token_deleted")
post_save.connect(_on_token_change, sender=Token, dispatch_uid="vcp_token_saved")
