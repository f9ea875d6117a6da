from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import numpy as np
import pytest
from django.conf import LazySettings
from rest_framework.test import APIClient

from features import spec
from marketdata.models import Instrument
from modelregistry.models import ModelVersion
from predictions import services
from predictions.choices import SnapshotSource
from predictions.models import FeatureSnapshot, Prediction
from tests.conftest import promote
from tests.factories import register_version
from tests.predictions.conftest import Market, symbol_with_bar

pytestmark = pytest.mark.django_db

PREDICT = "/api/v1/predict"
BATCH = "/api/v1/batch_predict"


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def audit() -> Iterator[list[logging.LogRecord]]:
    handler = _Records()
    logger = logging.getLogger("vcp.audit")  # propagate=False: caplog's root handler never sees it
    logger.addHandler(handler)
    yield handler.records
    logger.removeHandler(handler)


def _post(client: APIClient, path: str, body: object) -> tuple[int, dict]:
    response = client.post(path, data=json.dumps(body), content_type="application/json")
    return response.status_code, response.json()


def _what_if(**overrides: float) -> dict[str, float]:
    return dict.fromkeys(spec.FEATURE_NAMES, 0.5) | overrides


def test_predict_serves_the_batch_snapshot_for_the_latest_date_by_default(
    market: Market, production: ModelVersion, client_api: APIClient
) -> None:
    services.batch_run_inline(date=market.last)
    symbol = symbol_with_bar(market.last)

    status, body = _post(client_api, PREDICT, {"symbol": symbol.lower()})

    assert status == 200
    batch = Prediction.objects.get(instrument__symbol=symbol, date=market.last)
    assert body["symbol"] == symbol
    assert body["exchange"] == "NSE"
    assert body["date"] == market.last.isoformat()
    assert body["probability"] == pytest.approx(batch.probability, abs=1e-5)  # ONNX vs native: parity-gated
    assert body["will_hit_upper_circuit"] is (body["probability"] >= body["threshold"])
    assert body["model"] == {"name": production.name, "version": production.version}
    assert body["served_from"] in {"cache", "snapshot"}  # the batch warmed the shared cache
    assert "explanation" not in body


def test_a_repeated_prediction_comes_from_the_cache(
    market: Market, production: ModelVersion, client_api: APIClient
) -> None:
    symbol = symbol_with_bar(market.dates[-2])
    first = _post(client_api, PREDICT, {"symbol": symbol, "date": market.dates[-2].isoformat()})[1]
    second = _post(client_api, PREDICT, {"symbol": symbol, "date": market.dates[-2].isoformat()})[1]
    assert first["served_from"] == "computed"
    assert second["served_from"] == "cache"
    assert second["probability"] == first["probability"]


def test_a_date_without_a_snapshot_is_computed_from_bars_and_stored(
    market: Market, production: ModelVersion, client_api: APIClient
) -> None:
    day = market.dates[-3]
    symbol = symbol_with_bar(day)

    status, body = _post(client_api, PREDICT, {"symbol": symbol, "date": day.isoformat()})

    assert status == 200
    assert body["served_from"] == "computed"
    snapshot = FeatureSnapshot.objects.get(instrument__symbol=symbol, date=day)
    assert snapshot.source == SnapshotSource.ON_DEMAND
    assert snapshot.values[spec.FEATURE_INDEX["rs_rank63"]] is None
    assert snapshot.feature_set_hash == spec.FEATURE_SET_HASH


def test_on_demand_features_equal_the_batch_ones_except_the_cross_sectional_rank(
    market: Market, production: ModelVersion, client_api: APIClient
) -> None:
    day = market.last
    traded = list(Instrument.objects.filter(bars__date=day).order_by("symbol").values_list("symbol", flat=True))
    for symbol in traded:
        assert _post(client_api, PREDICT, {"symbol": symbol, "date": day.isoformat()})[0] == 200
    on_demand = dict(FeatureSnapshot.objects.filter(date=day).values_list("instrument_id", "values"))
    FeatureSnapshot.objects.all().delete()
    services.batch_run_inline(date=day)
    batch = dict(FeatureSnapshot.objects.filter(date=day).values_list("instrument_id", "values"))
    assert on_demand.keys() == batch.keys()
    assert sum(v[spec.FEATURE_INDEX["rs_rank63"]] is not None for v in batch.values()) > len(batch) // 2
    rank = spec.FEATURE_INDEX["rs_rank63"]
    for instrument_id, values in on_demand.items():
        got, expected = _array(values), _array(batch[instrument_id])
        assert np.isnan(got[rank])
        keep = np.arange(spec.N_FEATURES) != rank
        np.testing.assert_allclose(got[keep], expected[keep], rtol=1e-6)


def _array(values: list[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def test_explain_adds_the_top_five_contributions(
    market: Market, production: ModelVersion, client_api: APIClient
) -> None:
    status, body = _post(client_api, PREDICT, {"symbol": symbol_with_bar(market.last), "explain": True})
    assert status == 200
    contributions = body["explanation"]
    assert len(contributions) == 5
    assert {c["feature"] for c in contributions} <= set(spec.FEATURE_NAMES)
    sizes = [abs(c["contribution"]) for c in contributions]
    assert sizes == sorted(sizes, reverse=True)


def test_a_what_if_vector_is_scored_as_given(market: Market, production: ModelVersion, client_api: APIClient) -> None:
    symbol = symbol_with_bar(market.last)
    low = _post(client_api, PREDICT, {"symbol": symbol, "features": _what_if(close_sma50=-3.0)})
    high = _post(client_api, PREDICT, {"symbol": symbol, "features": _what_if(close_sma50=3.0)})
    assert low[0] == high[0] == 200
    assert low[1]["served_from"] == "what_if"
    assert low[1]["date"] is None
    # The factory's tiny model learned its signal from the first feature (close_sma50).
    assert high[1]["probability"] > low[1]["probability"]


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_feature_values_are_field_errors(
    production: ModelVersion, client_api: APIClient, token: str
) -> None:
    raw = json.dumps({"symbol": "ANY", "features": _what_if()}).replace('"return_1d": 0.5', f'"return_1d": {token}')
    response = client_api.post(PREDICT, data=raw, content_type="application/json")
    body = response.json()
    assert response.status_code == 400
    assert body["error"]["code"] == "invalid_request"
    assert list(body["error"]["details"]["fields"]["features"]) == ["return_1d"]


def test_an_incomplete_or_misspelt_feature_vector_names_each_bad_field(
    production: ModelVersion, client_api: APIClient
) -> None:
    features: dict[str, object] = {**_what_if(log_close="12")}  # type: ignore[arg-type]
    del features["band_pct"]
    status, body = _post(client_api, PREDICT, {"symbol": "ANY", "features": features})
    assert status == 400
    assert set(body["error"]["details"]["fields"]["features"]) == {"band_pct", "log_close"}
    misspelt = _what_if() | {"close_sma5O": 1.0}
    status, body = _post(client_api, PREDICT, {"symbol": "ANY", "features": misspelt})
    assert status == 400
    assert set(body["error"]["details"]["fields"]["features"]) == {"close_sma5O"}


def test_unknown_symbol_is_404(production: ModelVersion, client_api: APIClient) -> None:
    status, body = _post(client_api, PREDICT, {"symbol": "NOSUCH", "exchange": "BSE"})
    assert status == 404
    assert body["error"]["code"] == "unknown_symbol"
    assert "NOSUCH" in body["error"]["message"]


def test_a_date_without_a_bar_is_404_with_the_latest_available_date(
    market: Market, production: ModelVersion, client_api: APIClient
) -> None:
    symbol = symbol_with_bar(market.last)
    status, body = _post(client_api, PREDICT, {"symbol": symbol, "date": "2030-01-01"})
    assert status == 404
    assert body["error"]["code"] == "no_data_for_date"
    assert body["error"]["details"] == {"latest_available_date": market.last.isoformat()}


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("{not json", "malformed_json"),
        ("[1, 2]", "invalid_request"),
        ('{"symbol": ""}', "invalid_request"),
        ('{"symbol": "X", "exchange": "LSE"}', "invalid_request"),
        ('{"symbol": "X", "date": "2024-13-01"}', "invalid_request"),
        ('{"symbol": "X", "colour": "red"}', "invalid_request"),
    ],
)
def test_malformed_bodies_are_400_in_the_one_error_shape(
    production: ModelVersion, client_api: APIClient, raw: str, code: str
) -> None:
    response = client_api.post(PREDICT, data=raw, content_type="application/json")
    assert response.status_code == 400
    assert set(response.json()) == {"error"}
    assert response.json()["error"]["code"] == code


def test_no_production_model_is_503(client_api: APIClient) -> None:
    register_version()  # a candidate is not enough
    status, body = _post(client_api, PREDICT, {"symbol": "ANY"})
    assert status == 503
    assert body["error"]["code"] == "model_unavailable"
    assert body["error"]["details"] == {"reason": "no_production_model"}


def test_a_promotion_switches_versions_without_serving_a_stale_cached_answer(
    market: Market, production: ModelVersion, client_api: APIClient
) -> None:
    symbol = symbol_with_bar(market.last)
    before = _post(client_api, PREDICT, {"symbol": symbol})[1]
    newer = promote(register_version(seed=7))
    after = _post(client_api, PREDICT, {"symbol": symbol})[1]
    assert before["model"]["version"] == production.version
    assert after["model"]["version"] == newer.version
    assert after["served_from"] != "cache"


def test_every_served_prediction_leaves_an_audit_record(
    market: Market, production: ModelVersion, client_api: APIClient, audit: list[logging.LogRecord]
) -> None:
    symbol = symbol_with_bar(market.last)
    response = client_api.post(PREDICT, data={"symbol": symbol}, format="json", HTTP_X_REQUEST_ID="trace-abc")
    assert response.status_code == 200
    (record,) = audit
    assert record.getMessage() == "prediction served"
    fields = record.__dict__
    assert fields["actor"].startswith("token:")
    assert "user:desk" in fields["actor"]
    assert (fields["symbol"], fields["model_version"], fields["trace_id"]) == (symbol, production.version, "trace-abc")
    assert fields["probability"] == response.json()["probability"]


def test_batch_predict_reports_errors_per_item(
    market: Market, production: ModelVersion, client_api: APIClient, audit: list[logging.LogRecord]
) -> None:
    good = symbol_with_bar(market.last)
    items = [
        {"symbol": good},
        {"symbol": "NOSUCH"},
        {"symbol": good, "date": "2030-01-01"},
        {"symbol": good, "date": market.dates[-2].isoformat()},
    ]
    status, body = _post(client_api, BATCH, {"items": items, "explain": True})
    assert status == 200
    assert (body["count"], body["succeeded"], body["failed"]) == (4, 2, 2)
    ok, unknown, no_data, earlier = body["results"]
    assert ok["prediction"]["symbol"] == good
    assert len(ok["prediction"]["explanation"]) == 5
    assert unknown["error"]["code"] == "unknown_symbol"
    assert unknown["index"] == 1
    assert no_data["error"]["details"]["latest_available_date"] == market.last.isoformat()
    assert earlier["prediction"]["date"] == market.dates[-2].isoformat()
    assert len(audit) == 2


def test_batch_predict_refuses_more_items_than_the_limit(
    production: ModelVersion, client_api: APIClient, settings: LazySettings
) -> None:
    settings.VCP_BATCH_PREDICT_LIMIT = 3
    status, body = _post(client_api, BATCH, {"items": [{"symbol": "A"}] * 4})
    assert status == 400
    assert "items" in body["error"]["details"]["fields"]


def test_batch_predict_of_a_thousand_symbols_answers_each(
    production: ModelVersion, client_api: APIClient, market: Market
) -> None:
    services.batch_run_inline(date=market.last)
    known = list(Prediction.objects.values_list("instrument__symbol", flat=True))
    items = [{"symbol": known[i % len(known)] if i % 2 else f"X{i}"} for i in range(1000)]
    status, body = _post(client_api, BATCH, {"items": items})
    assert status == 200
    assert (body["succeeded"], body["failed"]) == (500, 500)


def test_the_service_refuses_an_invalid_what_if_vector_itself(production: ModelVersion) -> None:
    from predictions.exceptions import InvalidFeaturesError
    from predictions.serving import prediction_serve

    features: dict[str, float] = _what_if(return_1d=float("nan"), made_up=1.0)
    del features["log_close"]
    with pytest.raises(InvalidFeaturesError) as caught:
        prediction_serve(symbol="ANY", features=features)
    assert set(caught.value.details["fields"]) == {"return_1d", "made_up", "log_close"}


def test_served_and_failed_predictions_are_counted_for_the_dashboards(
    market: Market, production: ModelVersion, client_api: APIClient
) -> None:
    from common import metrics

    # Collect the two metrics alone: the whole registry also runs monitoring's database-reading collector.
    def sample(metric: object, name: str, labels: dict[str, str]) -> float:
        for family in metric.collect():  # type: ignore[attr-defined]
            for s in family.samples:
                if s.name == name and s.labels == labels:
                    return float(s.value)
        return 0.0

    def count(outcome: str, version: str) -> float:
        labels = {"model_version": version, "outcome": outcome}
        return sample(metrics.PREDICTIONS, "vcp_predictions_total", labels)

    def latency_count() -> float:
        return sample(metrics.PREDICTION_LATENCY, "vcp_prediction_latency_seconds_count", {"endpoint": "batch_predict"})

    label = f"{production.name} v{production.version}"
    served = count("positive", label) + count("negative", label)
    errors, timed = count("error", "none"), latency_count()
    items = [{"symbol": symbol_with_bar(market.last)}, {"symbol": "NOSUCH"}]
    assert _post(client_api, BATCH, {"items": items})[0] == 200
    assert count("positive", label) + count("negative", label) == served + 1
    assert count("error", "none") == errors + 1
    assert latency_count() == timed + 2
