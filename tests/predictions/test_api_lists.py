from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from modelregistry.models import ModelVersion
from predictions import services
from predictions.models import Prediction
from tests.conftest import promote
from tests.factories import register_version
from tests.predictions.conftest import Market

pytestmark = pytest.mark.django_db

LIST = "/api/v1/predictions"


@pytest.fixture
def scored(market: Market, production: ModelVersion) -> Market:
    services.batch_run_inline(date=market.dates[-2])
    services.batch_run_inline(date=market.last)
    return market


def test_the_list_defaults_to_the_latest_day_ranked_by_probability(scored: Market, client_api: APIClient) -> None:
    body = client_api.get(LIST, {"page_size": 5}).json()
    total = Prediction.objects.filter(date=scored.last).count()
    assert body["count"] == total
    rows = body["results"]
    assert [r["rank"] for r in rows] == [1, 2, 3, 4, 5]
    assert {r["date"] for r in rows} == {scored.last.isoformat()}
    assert [r["probability"] for r in rows] == sorted((r["probability"] for r in rows), reverse=True)
    assert set(rows[0]) == {
        "rank",
        "symbol",
        "exchange",
        "series",
        "date",
        "probability",
        "will_hit_upper_circuit",
        "threshold",
        "new_circuit_probability",
        "will_hit_new_circuit",
        "strict_probability",
        "model",
    }
    assert body["next"] is not None
    assert "page=2" in body["next"]


def test_the_list_filters_by_date_probability_series_and_decision(scored: Market, client_api: APIClient) -> None:
    day = scored.dates[-2]
    probabilities = sorted(set(Prediction.objects.filter(date=day).values_list("probability", flat=True)))
    cut = probabilities[len(probabilities) // 2]
    expected = Prediction.objects.filter(date=day, probability__gte=cut).count()
    body = client_api.get(LIST, {"date": day.isoformat(), "min_probability": cut, "page_size": 500}).json()
    assert 0 < body["count"] == expected < Prediction.objects.filter(date=day).count()
    assert all(r["probability"] >= cut for r in body["results"])

    series = Prediction.objects.filter(date=day).values_list("series", flat=True).first()
    body = client_api.get(LIST, {"date": day.isoformat(), "series": series.lower(), "page_size": 500}).json()
    assert body["count"] == Prediction.objects.filter(date=day, series=series).count()

    hits = Prediction.objects.filter(date=day, will_hit=True).count()
    assert client_api.get(LIST, {"date": day.isoformat(), "will_hit": "true"}).json()["count"] == hits


def test_the_list_orders_by_symbol_on_request(scored: Market, client_api: APIClient) -> None:
    rows = client_api.get(LIST, {"ordering": "symbol", "page_size": 500}).json()["results"]
    assert [r["symbol"] for r in rows] == sorted(r["symbol"] for r in rows)


def test_the_list_serves_a_named_model_version(scored: Market, production: ModelVersion, client_api: APIClient) -> None:
    newer = promote(register_version(seed=5))
    services.batch_run_inline(date=scored.last)
    default = client_api.get(LIST).json()["results"][0]
    older = client_api.get(LIST, {"model_version": production.pk}).json()["results"][0]
    assert default["model"]["version"] == newer.version
    assert older["model"]["version"] == production.version


@pytest.mark.parametrize(
    "params",
    [
        {"date": "yesterday"},
        {"min_probability": "2"},
        {"ordering": "price"},
        {"model_version": "0"},
        {"model_version": str(2**70)},
    ],
)
def test_bad_list_parameters_are_400(client_api: APIClient, params: dict[str, str]) -> None:
    response = client_api.get(LIST, params)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


def test_an_empty_database_lists_nothing(client_api: APIClient) -> None:
    assert client_api.get(LIST).json()["count"] == 0


def test_a_page_past_the_end_is_a_404_in_the_error_shape(scored: Market, client_api: APIClient) -> None:
    response = client_api.get(LIST, {"page": 999})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_fresh_candidates_exclude_stocks_locked_today_and_rank_by_their_own_probability(
    scored: Market, client_api: APIClient
) -> None:
    day = scored.last
    locked = set(
        Prediction.objects.filter(date=day, new_circuit_probability__isnull=True).values_list(
            "instrument_id", flat=True
        )
    )
    fresh = client_api.get("/api/v1/predictions", {"fresh": "true", "page_size": 500}).json()["results"]
    assert fresh
    assert all(r["new_circuit_probability"] is not None for r in fresh)
    probabilities = [r["new_circuit_probability"] for r in fresh]
    assert probabilities == sorted(probabilities, reverse=True)
    streaks = client_api.get("/api/v1/predictions", {"fresh": "false", "page_size": 500}).json()["results"]
    assert len(streaks) == len(locked)
    assert all(r["new_circuit_probability"] is None for r in streaks)
