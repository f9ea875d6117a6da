"""Serving with artifacts that changed on disk: 503 without paths, the version refused (predictions/serving.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import LazySettings
from rest_framework.test import APIClient

from modelregistry.loader import loader
from modelregistry.models import ModelVersion
from tests.predictions.conftest import Market, symbol_with_bar

pytestmark = pytest.mark.django_db


def _file(settings: LazySettings, version: ModelVersion, name: str) -> Path:
    return Path(settings.VCP_ARTIFACT_ROOT) / version.name / str(version.version) / name


def test_a_tampered_native_model_makes_explain_a_503_without_paths(
    market: Market, production: ModelVersion, client_api: APIClient, settings: LazySettings
) -> None:
    native = _file(settings, production, "model.ubj")
    symbol = symbol_with_bar(market.last)
    assert client_api.post("/api/v1/predict", {"symbol": symbol}, format="json").status_code == 200
    native.write_bytes(native.read_bytes()[:-10] + b"0123456789")
    response = client_api.post("/api/v1/predict", {"symbol": symbol, "explain": True}, format="json")
    assert response.status_code == 503
    body = response.content.decode()
    assert response.json()["error"]["code"] == "model_unavailable"
    assert response.json()["error"]["details"] == {"reason": "artifacts_unavailable"}
    assert str(settings.VCP_ARTIFACT_ROOT) not in body
    assert "model.ubj" not in body
    # The whole version is refused in this process now, not only explanations.
    again = client_api.post("/api/v1/predict", {"symbol": symbol}, format="json")
    assert again.status_code == 503
    assert production.pk in loader.refused()
