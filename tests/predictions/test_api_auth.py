from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from common.api.throttling import TokenRateThrottle
from modelregistry.models import ModelVersion

pytestmark = pytest.mark.django_db

PREDICT = "/api/v1/predict"


def test_no_token_is_401(production: ModelVersion) -> None:
    response = APIClient().post(PREDICT, {"symbol": "X"}, format="json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Token"


def test_a_wrong_token_is_401(production: ModelVersion) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    response = client.post(PREDICT, {"symbol": "X"}, format="json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_a_deleted_token_stops_working_at_once(production: ModelVersion, client_api: APIClient) -> None:
    assert client_api.get("/api/v1/models").status_code == 200
    Token.objects.all().delete()
    assert client_api.get("/api/v1/models").status_code == 401


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


def test_staff_can_use_the_api_with_their_admin_session(production: ModelVersion) -> None:
    staff = get_user_model().objects.create_user("quant", password="not-a-real-password", is_staff=True)
    client = APIClient()
    client.force_login(staff)
    assert client.get("/api/v1/models").status_code == 200


def test_health_endpoints_need_no_token(production: ModelVersion) -> None:
    assert APIClient().get("/api/v1/health").json() == {"status": "ok"}
    assert APIClient().get("/api/v1/health/ready").status_code == 200


def test_unknown_api_urls_and_wrong_methods_use_the_error_shape(client_api: APIClient) -> None:
    missing = client_api.get("/api/v1/no-such-endpoint")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert APIClient().get("/api/v2/predict").json()["error"]["code"] == "not_found"
    wrong = client_api.get(PREDICT)
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "method_not_allowed"
    assert APIClient().get("/api/docs").status_code == 301  # the docs pages still redirect to their slash


def test_a_cache_outage_does_not_block_requests_at_the_throttle(
    production: ModelVersion, client_api: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from common.api import throttling

    def down(*args: object, **kwargs: object) -> None:
        raise ConnectionError("redis is down")

    monkeypatch.setattr(throttling.cache, "incr", down)
    assert client_api.get("/api/v1/models").status_code == 200
