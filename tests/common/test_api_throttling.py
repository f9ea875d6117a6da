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

    monkeypatch.setattr(throttling, "shared_count_add", down)
    assert client_api.get("/api/v1/models").status_code == 200


def test_far_from_the_limit_requests_are_counted_in_batches_of_one_round_trip(
    production: ModelVersion, client_api: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from common.api import throttling

    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", {"token": "100000/min"})
    monkeypatch.setattr(throttling, "SYNC_SECONDS", 3600.0)  # only the count decides when to sync
    syncs: list[int] = []
    real = throttling.shared_count_add

    def counting(key: str, delta: int, *, timeout: int) -> int:
        syncs.append(delta)
        return real(key, delta, timeout=timeout)

    monkeypatch.setattr(throttling, "shared_count_add", counting)
    for _ in range(1 + 2 * throttling.SYNC_EVERY):
        assert client_api.get("/api/v1/models").status_code == 200
    # The first request of the window syncs, then one round trip per SYNC_EVERY requests, none lost.
    assert syncs == [1, throttling.SYNC_EVERY, throttling.SYNC_EVERY]


def test_near_the_limit_every_request_syncs_so_other_processes_spending_count(
    production: ModelVersion, client_api: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from common.api import throttling

    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", {"token": "50/min"})
    assert client_api.get("/api/v1/models").status_code == 200
    # Another process spent the rest of this token's window: the next request here must see it.
    throttle = TokenRateThrottle()
    (key,) = list(throttling._windows)
    window = throttling._windows[key].window
    throttling.shared_count_add(f"{key}:{window}", 49, timeout=61)
    response = client_api.get("/api/v1/models")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"
    assert throttle.num_requests == 50


def test_the_shared_counter_takes_a_batch_in_one_call_and_expires(production: ModelVersion) -> None:
    from django.core.cache import cache

    from common.api import throttling

    assert throttling.shared_count_add("throttle-test", 5, timeout=30) == 5
    assert throttling.shared_count_add("throttle-test", 3, timeout=30) == 8
    assert cache.get("throttle-test") == 8
