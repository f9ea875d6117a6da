"""The registry's read API (modelregistry/api/): /api/v1/models and /api/v1/models/<id>."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from modelregistry.models import ModelVersion
from tests.factories import register_version

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_serving_state")]


def test_models_are_listed_and_retrieved_read_only(production: ModelVersion, client_api: APIClient) -> None:
    candidate = register_version(seed=3)
    listing = client_api.get("/api/v1/models").json()
    assert [m["version"] for m in listing["results"]] == [candidate.version, production.version]
    one = client_api.get(f"/api/v1/models/{production.pk}").json()
    assert (one["status"], one["feature_names"][0], one["threshold"]) == ("production", "close_sma50", 0.5)
    assert client_api.delete(f"/api/v1/models/{production.pk}").status_code == 405
    assert client_api.get("/api/v1/models/999999999999999999").json()["error"]["code"] == "not_found"
    assert client_api.get(f"/api/v1/models/{'9' * 30}").status_code == 404
