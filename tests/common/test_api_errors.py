"""The one JSON error shape (common/api/errors.py), also for URLs and methods the API does not have."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_serving_state")]

PREDICT = "/api/v1/predict"


def test_unknown_api_urls_and_wrong_methods_use_the_error_shape(client_api: APIClient) -> None:
    missing = client_api.get("/api/v1/no-such-endpoint")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert APIClient().get("/api/v2/predict").json()["error"]["code"] == "not_found"
    wrong = client_api.get(PREDICT)
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "method_not_allowed"
    assert APIClient().get("/api/docs").status_code == 301  # the docs pages still redirect to their slash
