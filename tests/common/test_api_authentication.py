"""Token authentication (common/api/authentication.py) and the session login staff also use."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from modelregistry.models import ModelVersion

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_serving_state")]

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


def test_staff_can_use_the_api_with_their_admin_session(production: ModelVersion) -> None:
    staff = get_user_model().objects.create_user("quant", password="not-a-real-password", is_staff=True)
    client = APIClient()
    client.force_login(staff)
    assert client.get("/api/v1/models").status_code == 200
