"""Token revocation reaches every process at once (common/api/authentication.py): a generation in the
shared cache, and the database when no shared cache can tell."""

from __future__ import annotations

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
    """What a deactivation in another gunicorn worker does to the shared cache (not to this process)."""
    cache.set(authentication.GENERATION_KEY, "from-another-process", timeout=None)


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
