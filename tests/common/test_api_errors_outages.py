"""A database outage is a 503 JSON with Retry-After, in DRF views and everywhere else (handler500)."""

from __future__ import annotations

import pytest
from django.db import OperationalError
from django.test import RequestFactory
from rest_framework.test import APIClient

from common.api.errors import server_error
from modelregistry.models import ModelVersion

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_serving_state")]


def test_an_operational_error_in_an_api_view_is_a_503_with_retry_after(
    production: ModelVersion, client_api: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelregistry import selectors

    def down(**_: object) -> None:
        raise OperationalError('connection to server at "127.0.0.1", port 5432 failed: Connection refused')

    monkeypatch.setattr(selectors, "model_version_list", down)
    response = client_api.get("/api/v1/models")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    body = response.json()
    assert body["error"]["code"] == "service_unavailable"
    assert "5432" not in response.content.decode()  # no host or port in the answer


@pytest.mark.parametrize(("path", "content_type"), [("/api/v1/models", "application/json"), ("/admin/", "text/plain")])
def test_handler500_turns_a_database_outage_anywhere_into_a_503(path: str, content_type: str) -> None:
    request = RequestFactory().get(path)
    try:
        raise OperationalError("server closed the connection unexpectedly")
    except OperationalError:
        response = server_error(request)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response["Content-Type"].startswith(content_type)


def test_handler500_keeps_other_errors_500_in_the_api_shape() -> None:
    request = RequestFactory().get("/api/v1/models")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        response = server_error(request)
    assert response.status_code == 500
    assert b"internal_error" in response.content
