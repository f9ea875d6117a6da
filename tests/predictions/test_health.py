from __future__ import annotations

import pytest
from django.conf import LazySettings
from rest_framework.test import APIClient

from modelregistry.models import ModelVersion
from predictions import services
from predictions.cache import cache_stats
from tests.factories import register_version
from tests.predictions.conftest import Market, symbol_with_bar

pytestmark = pytest.mark.django_db

READY = "/api/v1/health/ready"


def test_health_endpoints_need_no_token(production: ModelVersion) -> None:
    assert APIClient().get("/api/v1/health").json() == {"status": "ok"}
    assert APIClient().get("/api/v1/health/ready").status_code == 200


def test_ready_reports_each_dependency_and_the_cache_counts(
    market: Market, production: ModelVersion, client_api: APIClient
) -> None:
    services.batch_run_inline(date=market.last)
    symbol = symbol_with_bar(market.last)
    before = cache_stats()
    for _ in range(3):
        client_api.post("/api/v1/predict", {"symbol": symbol}, format="json")
    body = _staff().get(READY).json()
    assert body["status"] == "ready"
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "database": True,
        "cache": True,
        "model": True,
    }
    assert f"v{production.version}" in body["checks"]["model"]["detail"]
    # Counts are this process's since it started: compare with the counts before the three calls.
    delta = {
        tier: {k: body["cache"][tier]["prediction"][k] - before[tier]["prediction"][k] for k in ("hits", "misses")}
        for tier in ("local", "redis")
    }
    # The batch warmed the shared tier; the first call copied the whole session into this process's.
    assert delta["local"] == {"hits": 3, "misses": 0}
    assert delta["redis"] == {"hits": 0, "misses": 0}


def test_not_ready_without_a_production_model_is_503_with_reasons() -> None:
    register_version()
    response = _staff().get(READY)
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "not_ready"
    assert error["message"] == "Not ready: model."
    assert "promote" in error["details"]["checks"]["model"]["detail"]
    assert error["details"]["checks"]["database"]["ok"] is True


def test_not_ready_when_the_model_artifacts_fail_their_checksums(
    production: ModelVersion, settings: LazySettings
) -> None:
    onnx = settings.VCP_ARTIFACT_ROOT / production.name / str(production.version) / "model.onnx"
    onnx.write_bytes(onnx.read_bytes() + b"tampered")
    response = _staff().get(READY)
    assert response.status_code == 503
    assert "checksums" in response.json()["error"]["details"]["checks"]["model"]["detail"]


def test_a_tampered_model_makes_predict_503_not_500(
    market: Market, production: ModelVersion, client_api: APIClient, settings: LazySettings
) -> None:
    onnx = settings.VCP_ARTIFACT_ROOT / production.name / str(production.version) / "model.onnx"
    onnx.write_bytes(b"not a model")
    response = client_api.post("/api/v1/predict", {"symbol": symbol_with_bar(market.last)}, format="json")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "model_unavailable"


def test_a_cache_outage_is_degraded_but_still_ready(production: ModelVersion, monkeypatch: pytest.MonkeyPatch) -> None:
    from django.core.cache import caches

    def down(*args: object, **kwargs: object) -> None:
        raise ConnectionError("redis is down")

    monkeypatch.setattr(caches["default"], "set", down)
    response = _staff().get(READY)
    # /predict answers without Redis (docs/reliability.md), so a Redis outage must not empty the pool.
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["cache"] == {
        "ok": False,
        "state": "unavailable",
        "detail": "cache unreachable: ConnectionError: redis is down",
    }
    assert body["checks"]["database"]["ok"] is True


def _staff() -> APIClient:
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(username="ops", defaults={"is_staff": True})
    client = APIClient()
    client.force_authenticate(user)
    return client
