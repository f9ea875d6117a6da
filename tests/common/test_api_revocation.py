"""Token revocation reaches every process at once (common/api/authentication.py): a generation in the
shared cache, and the database when no shared cache can tell."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from common import sharedcache
from common.api import authentication
from modelregistry.models import ModelVersion

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_serving_state")]

MODELS = "/api/v1/models"


def _another_process_revokes() -> None:
    """What a deactivation in another gunicorn worker does to the shared cache (not to this process):
    a new generation, published on the revocation channel; this process's subscriber empties its
    token cache within milliseconds, which is waited for here (bounded)."""
    epoch = authentication._epoch
    cache.set(authentication.GENERATION_KEY, "from-another-process", timeout=None)
    cache._cache.get_client(None, write=True).publish(authentication.revocation_channel(), b"1")  # type: ignore[attr-defined]
    deadline = time.monotonic() + 5
    while authentication.revocations.live() and authentication._epoch == epoch and time.monotonic() < deadline:
        time.sleep(0.005)


def _wait_until_subscribed() -> None:
    deadline = time.monotonic() + 5
    while not authentication.revocations.live() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert authentication.revocations.live()


def test_while_subscribed_a_cached_token_costs_no_shared_cache_call(
    production: ModelVersion, client_api: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not sharedcache.is_shared():
        pytest.skip("needs the shared cache (REDIS_URL)")
    assert client_api.get(MODELS).status_code == 200
    _wait_until_subscribed()
    assert client_api.get(MODELS).status_code == 200  # cached under the live subscription
    asked: list[object] = []
    real_get = cache.get
    monkeypatch.setattr(cache, "get", lambda key, *a, **k: asked.append(key) or real_get(key, *a, **k))
    assert client_api.get(MODELS).status_code == 200
    assert authentication.GENERATION_KEY not in asked


def test_a_lookup_that_began_before_a_revocation_is_not_trusted_after_it(
    production: ModelVersion, client_api: APIClient
) -> None:
    if not sharedcache.is_shared():
        pytest.skip("needs the shared cache (REDIS_URL)")
    assert client_api.get(MODELS).status_code == 200
    _wait_until_subscribed()
    (key,) = authentication._cache
    entry = authentication._cache[key]
    authentication.forget_all_tokens()  # the revocation arrives...
    authentication._cache[key] = entry  # ...and a lookup that began before it stores its answer after it
    Token.objects.filter(key=key).update(key="1" * 40)  # no signal
    assert client_api.get(MODELS).status_code == 401


def test_a_token_cached_here_stops_working_once_another_process_revokes(
    production: ModelVersion, client_api: APIClient
) -> None:
    if not sharedcache.is_shared():
        pytest.skip("needs the shared cache (REDIS_URL)")
    assert client_api.get(MODELS).status_code == 200  # cached in this process now
    Token.objects.filter(user__username="desk").update(key="0" * 40)  # no signal: only the generation tells
    _another_process_revokes()
    assert client_api.get(MODELS).status_code == 401


def test_deactivating_a_user_revokes_their_token_at_once(
    production: ModelVersion, make_client: Callable[..., APIClient]
) -> None:
    client = make_client("leaver")
    assert client.get(MODELS).status_code == 200
    generation = cache.get(authentication.GENERATION_KEY)
    user = get_user_model().objects.get(username="leaver")
    user.is_active = False
    user.save()
    assert cache.get(authentication.GENERATION_KEY) != generation
    assert client.get(MODELS).status_code == 401


def test_with_the_shared_cache_failing_every_request_asks_the_database(
    production: ModelVersion, client_api: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert client_api.get(MODELS).status_code == 200

    def down(*args: object, **kwargs: object) -> None:
        raise ConnectionError("redis is down")

    monkeypatch.setattr(cache, "get", down)
    Token.objects.all().delete()  # its signal cannot reach Redis either
    assert client_api.get(MODELS).status_code == 401
