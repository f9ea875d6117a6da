from __future__ import annotations

import json
import shlex
from io import StringIO

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from modelregistry.models import ModelVersion
from predictions.models import Prediction
from tests.predictions.conftest import Market

pytestmark = pytest.mark.django_db


def test_demo_user_prints_a_curl_that_works(market: Market, production: ModelVersion) -> None:
    call_command("score_universe", stdout=StringIO())
    out = StringIO()
    call_command("demo_user", stdout=out)
    curl = next(line for line in out.getvalue().splitlines() if line.startswith("curl "))
    words = shlex.split(curl)
    token = words[words.index("-H") + 1].removeprefix("Authorization: ")
    body = json.loads(words[words.index("-d") + 1])
    top = Prediction.objects.get(date=market.last, rank=1).instrument.symbol
    assert body == {"symbol": top, "explain": True}
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=token)
    response = client.post("/api/v1/predict", body, format="json")
    assert response.status_code == 200
    assert response.json()["symbol"] == top


def test_demo_user_without_predictions_still_names_a_real_symbol(market: Market) -> None:
    out = StringIO()
    call_command("demo_user", stdout=out)
    assert f'"symbol": "{market.symbols[0]}"' in out.getvalue()
