"""predictions/warmup.py: a worker loads its serving state before its first request."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from common import sharedcache
from modelregistry.loader import loader
from modelregistry.models import ModelVersion
from predictions import services, serving
from predictions.cache import caches_clear_local
from predictions.exceptions import ModelUnavailableError
from predictions.lookups import lookups_clear
from predictions.warmup import serving_warm
from tests.predictions.conftest import Market, symbol_with_bar

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_serving_state")]


def test_after_the_warm_up_a_prediction_reads_no_bars_instruments_or_shared_cache(
    market: Market, production: ModelVersion, client_api: APIClient, shared_reads: list[int]
) -> None:
    services.batch_run_inline(date=market.last)  # the nightly batch fills the shared tier
    # A fresh worker: nothing in this process (the shared tier keeps what the batch put there).
    loader.clear()
    caches_clear_local()
    lookups_clear()
    timings = serving_warm()
    assert set(timings) == {"model", "instruments", "latest_session"}
    shared_reads.clear()  # the warm-up's own copy of the session; from here on, nothing
    client_api.post("/api/v1/predict", data=json.dumps({"symbol": "WARMUP"}), content_type="application/json")
    symbol = symbol_with_bar(market.last)
    with CaptureQueriesContext(connection) as queries:
        response = client_api.post(
            "/api/v1/predict", data=json.dumps({"symbol": symbol}), content_type="application/json"
        )
    assert response.status_code == 200
    assert response.json()["served_from"] == "cache"
    touched = " ".join(q["sql"] for q in queries.captured_queries)
    assert "marketdata_instrument" not in touched
    assert "marketdata_dailybar" not in touched
    if sharedcache.is_shared():
        assert shared_reads == []


def test_a_failed_warm_up_is_logged_and_leaves_the_lazy_paths(
    production: ModelVersion, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def unavailable() -> Any:
        raise ModelUnavailableError("No production model is available; promote a model version first.")

    monkeypatch.setattr(serving, "production_model", unavailable)
    assert serving_warm() == {}
    assert "serving warm-up failed" in caplog.text
