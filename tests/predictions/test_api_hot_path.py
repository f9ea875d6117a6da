"""The lean hot path (issue 14): /batch_predict deduplicated and computed in one pass under a budget,
/predict validated without a serializer where the answer is certain, lists without the big JSON,
and the JSON API past the page-only middleware."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.conf import LazySettings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from features import spec
from modelregistry.models import ModelVersion
from predictions import services, serving
from predictions.api.fastpath import batch_items_fast, predict_request_fast
from predictions.models import FeatureSnapshot, Prediction
from predictions.selectors import predictions_ranked
from tests.predictions.conftest import Market

pytestmark = pytest.mark.django_db

BATCH = "/api/v1/batch_predict"


def _post(client: APIClient, path: str, body: object) -> tuple[int, dict[str, Any]]:
    response = client.post(path, data=json.dumps(body), content_type="application/json")
    return response.status_code, response.json()


def _spy_compute(monkeypatch: pytest.MonkeyPatch) -> list[list[tuple[int, dt.date]]]:
    calls: list[list[tuple[int, dt.date]]] = []
    real = serving.features_compute_many

    def spy(*, wanted: Any) -> Any:
        calls.append([(ref.id, day) for ref, day in wanted])
        return real(wanted=wanted)

    monkeypatch.setattr(serving, "features_compute_many", spy)
    return calls


def test_items_without_snapshots_are_computed_in_one_read_and_repeats_once(
    market: Market, production: ModelVersion, client_api: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[int] = []
    real_frame = serving.bars_frame

    def counting_frame(**kwargs: Any) -> Any:
        reads.append(len(kwargs["instrument_ids"]))
        return real_frame(**kwargs)

    monkeypatch.setattr(serving, "bars_frame", counting_frame)
    calls = _spy_compute(monkeypatch)
    first, second = market.dates[-2].isoformat(), market.dates[-4].isoformat()
    symbols = market.symbols[:6]
    items = [{"symbol": s, "date": first} for s in symbols] + [{"symbol": s, "date": second} for s in symbols[:3]]
    items += items[:4]  # repeated items
    status, body = _post(client_api, BATCH, {"items": items})
    assert status == 200
    assert body["count"] == len(items) == 13
    assert len(calls) == 1
    assert len(calls[0]) == 9
    assert len(reads) == 1
    assert reads[0] == 6
    served = [r["prediction"] for r in body["results"] if "prediction" in r]
    assert {p["served_from"] for p in served} == {"computed"}
    for repeat in range(9, 13):  # a repeat answers exactly what its first occurrence did
        assert body["results"][repeat]["prediction"] == body["results"][repeat - 9]["prediction"]
    assert FeatureSnapshot.objects.filter(date__in=[first, second]).count() == body["succeeded"] - 4


def test_computed_together_equals_computed_alone(market: Market, production: ModelVersion) -> None:
    from predictions import lookups

    refs = [r for r in lookups.instruments_resolve(requests=[(s, None) for s in market.symbols[:5]]) if r is not None]
    days = [market.dates[-2], market.dates[-7]]
    together, _ = serving.features_compute_many(wanted=[(ref, day) for ref in refs for day in days])
    for ref in refs:
        for day in days:
            key = (ref.id, day)
            if key not in together:
                continue
            alone, _ = serving.features_compute_many(wanted=[(ref, day)])
            assert alone[key] == pytest.approx(together[key], rel=1e-5, abs=1e-6, nan_ok=True)


def test_a_batch_over_the_compute_budget_is_413_before_any_bar_is_read(
    market: Market,
    production: ModelVersion,
    client_api: APIClient,
    settings: LazySettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = _spy_compute(monkeypatch)
    settings.VCP_BATCH_COMPUTE_MAX_BARS = 1_000  # fewer than 4 stocks' history
    items = [{"symbol": s, "date": market.dates[-2].isoformat()} for s in market.symbols[:4]]
    status, body = _post(client_api, BATCH, {"items": items})
    assert status == 413
    error = body["error"]
    assert error["code"] == "compute_budget_exceeded"
    assert error["details"]["items_to_compute"] == 4
    assert error["details"]["max_bars"] == 1_000
    assert error["details"]["bars_to_read"] > 1_000
    assert "Split the request" in error["message"]
    assert calls == []


def test_a_date_outside_the_stored_sessions_fails_alone_and_does_not_stretch_the_read(
    market: Market, production: ModelVersion, client_api: APIClient, settings: LazySettings
) -> None:
    # Exactly three stocks' feature history: a read stretched back to 1990 would cost the whole range.
    settings.VCP_BATCH_COMPUTE_MAX_BARS = 3 * (spec.LOOKBACK + 1)
    assert len(market.dates) - 1 > spec.LOOKBACK + 1
    day = market.dates[-2].isoformat()
    items = [{"symbol": s, "date": day} for s in market.symbols[:3]] + [
        {"symbol": market.symbols[0], "date": "1990-01-02"}
    ]
    status, body = _post(client_api, BATCH, {"items": items})
    assert status == 200
    assert body["results"][3]["error"]["code"] == "no_data_for_date"
    assert body["results"][3]["error"]["details"]["latest_available_date"] == market.last.isoformat()
    assert {r["prediction"]["served_from"] for r in body["results"][:3]} == {"computed"}


def test_cached_items_do_not_count_against_the_compute_budget(
    market: Market, production: ModelVersion, client_api: APIClient, settings: LazySettings
) -> None:
    services.batch_run_inline(date=market.last)
    settings.VCP_BATCH_COMPUTE_MAX_BARS = 1
    known = list(Prediction.objects.values_list("instrument__symbol", flat=True)[:5])
    status, body = _post(client_api, BATCH, {"items": [{"symbol": s} for s in known]})
    assert (status, body["succeeded"]) == (200, 5)


def test_a_database_timeout_while_reading_bars_is_a_503_not_a_500(
    market: Market, production: ModelVersion, client_api: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def cancelled(**kwargs: Any) -> Any:
        raise connection.Database.OperationalError("canceling statement due to statement timeout")

    monkeypatch.setattr(serving, "bars_frame", cancelled)
    status, body = _post(
        client_api, BATCH, {"items": [{"symbol": market.symbols[0], "date": market.dates[-2].isoformat()}]}
    )
    assert status == 503
    assert body["error"]["code"] == "service_unavailable"


@pytest.mark.parametrize(
    ("body", "accepted"),
    [
        ({"symbol": "RELIANCE"}, True),
        ({"symbol": "M&M", "exchange": "NSE", "date": "2024-08-02", "explain": True}, True),
        ({"symbol": "500325", "exchange": None, "date": None}, True),
        ({"symbol": "X", "features": {}}, False),  # what-if: the serializer validates the vector
        ({"symbol": "X", "colour": "red"}, False),
        ({"symbol": 500325}, False),
        ({"symbol": "RELIANCE\n"}, False),
        ({"symbol": ""}, False),
        ({"symbol": "X", "exchange": "NYSE"}, False),
        ({"symbol": "X", "date": "2024-13-01"}, False),
        ({"symbol": "X", "date": "2024-8-2"}, False),
        ({"symbol": "X", "explain": "yes"}, False),
        (["RELIANCE"], False),
    ],
)
def test_the_fast_path_accepts_only_bodies_it_can_vouch_for(body: Any, accepted: bool) -> None:
    result = predict_request_fast(body)
    assert (result is not None) == accepted
    if accepted:
        assert result is not None
        item, explain = result
        assert item.symbol == body["symbol"]
        assert explain == body.get("explain", False)


def test_the_batch_fast_path_leaves_limits_and_bad_items_to_the_serializer() -> None:
    assert batch_items_fast({"items": [{"symbol": "A"}] * 3}, limit=3) is not None
    assert batch_items_fast({"items": [{"symbol": "A"}] * 4}, limit=3) is None
    assert batch_items_fast({"items": []}, limit=3) is None
    assert batch_items_fast({"items": [{"symbol": "A"}, {"symbol": 1}]}, limit=3) is None
    parsed = batch_items_fast({"items": [{"symbol": "A", "date": "2024-08-02"}], "explain": True}, limit=3)
    assert parsed is not None
    assert parsed[0][0].date == dt.date(2024, 8, 2)
    assert parsed[1] is True


def test_lists_of_predictions_never_load_the_model_versions_big_json(
    market: Market, production: ModelVersion, client_api: APIClient
) -> None:
    services.batch_run_inline(date=market.last)
    deferred = predictions_ranked(date=market.last, model_version_id=production.pk).query.deferred_loading
    assert {"model_version__reference", "model_version__metrics"} <= set(deferred[0])
    with CaptureQueriesContext(connection) as captured:
        response = client_api.get("/api/v1/predictions?page_size=500")
    assert response.status_code == 200
    assert response.json()["count"] > 0
    row = response.json()["results"][0]
    assert row["model"] == {"name": production.name, "version": production.version}
    assert set(row) == {
        "rank", "symbol", "exchange", "series", "date", "probability", "will_hit_upper_circuit", "threshold",
        "new_circuit_probability", "will_hit_new_circuit", "strict_probability", "model",
    }  # fmt: skip
    sql = " ".join(q["sql"] for q in captured.captured_queries)
    assert '"reference"' not in sql
    assert '"metrics"' not in sql


def test_the_admin_list_of_predictions_defers_the_big_json(
    market: Market, production: ModelVersion, admin_client: Client
) -> None:
    services.batch_run_inline(date=market.last)
    with CaptureQueriesContext(connection) as captured:
        assert admin_client.get("/admin/predictions/prediction/").status_code == 200
        assert admin_client.get("/admin/predictions/batchrun/").status_code == 200
    sql = " ".join(q["sql"] for q in captured.captured_queries)
    assert '"modelregistry_modelversion"."reference"' not in sql


def test_the_json_api_skips_page_only_middleware_and_pages_keep_it(client: Client) -> None:
    api = client.get("/api/v1/health")
    assert api.status_code == 200
    assert "Content-Security-Policy" not in api
    assert api["X-Request-ID"]  # the trace id still runs on every request
    assert api["X-Frame-Options"] == "DENY"
    page = client.get("/admin/login/")
    assert "Content-Security-Policy" in page
