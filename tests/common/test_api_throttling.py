"""The per-token throttle (common/api/throttling.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from common.api.throttling import TokenRateThrottle
from modelregistry.models import ModelVersion

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_serving_state")]


def test_each_token_is_throttled_on_its_own(
    production: ModelVersion, make_client: Callable[..., APIClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", {"token": "3/min"})
    first, second = make_client("alice"), make_client("bob")
    codes = [first.get("/api/v1/models").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    throttled = first.get("/api/v1/models")
    body = throttled.json()["error"]
    assert body["code"] == "throttled"
    assert 0 < body["details"]["retry_after_seconds"] <= 60
    assert int(throttled["Retry-After"]) > 0
    assert second.get("/api/v1/models").status_code == 200


def test_a_cache_outage_does_not_block_requests_at_the_throttle(
    production: ModelVersion, client_api: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from common.api import throttling

    def down(*args: object, **kwargs: object) -> None:
        raise ConnectionError("redis is down")

    monkeypatch.setattr(throttling.cache, "incr", down)
    assert client_api.get("/api/v1/models").status_code == 200
