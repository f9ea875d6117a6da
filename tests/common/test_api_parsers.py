"""No body reaches a 500: size (413), nesting depth and odd encodings (400), in the API's error shape."""

from __future__ import annotations

import json

import pytest
from django.conf import LazySettings
from rest_framework.test import APIClient

from common.api.parsers import MAX_JSON_DEPTH, json_depth
from modelregistry.models import ModelVersion

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_serving_state")]

PREDICT = "/api/v1/predict"


def test_json_depth_counts_containers_without_recursion() -> None:
    assert json_depth(1) == 0
    assert json_depth([]) == 1
    assert json_depth({"a": [1, {"b": []}]}) == 4
    deep: list[object] = []
    for _ in range(100_000):  # far past Python's recursion limit
        deep = [deep]
    assert json_depth(deep) == 100_001


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 950, 100_000])
def test_a_deeply_nested_body_is_a_400_not_a_recursion_error(
    production: ModelVersion, client_api: APIClient, depth: int
) -> None:
    body = "[" * depth + "]" * depth
    response = client_api.post(PREDICT, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"
    assert "nested" in response.json()["error"]["message"]


def test_a_body_over_the_limit_is_413_before_it_is_read(
    production: ModelVersion, client_api: APIClient, settings: LazySettings
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = json.dumps({"symbol": "X" * 20_000})
    response = client_api.post(PREDICT, body, content_type="application/json")
    assert response.status_code == 413
    assert response.json() == {
        "error": {
            "code": "request_too_large",
            "message": "The request body is larger than 10000 bytes.",
            "details": {"max_bytes": 10_000},
        }
    }


def test_a_2_5_mb_body_is_413_with_the_default_limit(production: ModelVersion, client_api: APIClient) -> None:
    response = client_api.post(PREDICT, json.dumps({"symbol": "A" * 2_600_000}), content_type="application/json")
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json; charset=zlib_codec", b'{"symbol": "X"}'),
        ("application/json; charset=no-such-charset", b'{"symbol": "X"}'),
        ("application/json", b"\xff\xfe\x00garbage"),
        ("application/json", b'{"symbol": "\\ud800"}'),
    ],
)
def test_odd_encodings_are_400(production: ModelVersion, client_api: APIClient, content_type: str, body: bytes) -> None:
    response = client_api.post(PREDICT, body, content_type=content_type)
    assert response.status_code in {400, 404}, response.content
