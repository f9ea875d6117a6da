"""/predict's hot path (predictions/api/hotpath.py): the everyday call answered without DRF's
per-request machinery, byte for byte what the DRF view answers, with auth, throttle, audit and
metrics kept; anything else goes to the DRF view."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client
from prometheus_client import REGISTRY
from rest_framework.test import APIClient
from rest_framework.views import APIView

from common.api.throttling import TokenRateThrottle
from modelregistry.models import ModelVersion
from predictions.api import hotpath, views
from predictions.api.views import PredictView
from tests.conftest import reset_serving_state
from tests.predictions.conftest import Market, symbol_with_bar

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_serving_state")]

PREDICT = "/api/v1/predict"
# Headers that differ between any two answers, whichever path produced them.
_VOLATILE = {"date", "x-request-id", "x-trace-id", "traceparent", "server-timing"}


@pytest.fixture
def drf_requests(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the DRF ``Request`` wrappers built: the hot path builds none."""
    built: list[int] = []
    real = APIView.initialize_request

    def counting(self: APIView, request: Any, *args: Any, **kwargs: Any) -> Any:
        built.append(1)
        return real(self, request, *args, **kwargs)

    monkeypatch.setattr(APIView, "initialize_request", counting)
    return built


@pytest.fixture
def audit() -> Iterator[list[logging.LogRecord]]:
    records: list[logging.LogRecord] = []

    class _Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = _Keep()
    logger = logging.getLogger("vcp.audit")
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def _answer(client: Client, body: object, **extra: Any) -> tuple[int, bytes, dict[str, str]]:
    response = client.post(PREDICT, data=json.dumps(body), content_type="application/json", **extra)
    headers = {k.lower(): v for k, v in response.items() if k.lower() not in _VOLATILE}
    return response.status_code, response.content, headers


def _both_paths(
    client: Client, body: object, monkeypatch: pytest.MonkeyPatch, built: list[int], **extra: Any
) -> tuple[tuple[int, bytes, dict[str, str]], tuple[int, bytes, dict[str, str]]]:
    """The same call answered by the DRF view, then (from the same cold caches) by the hot path. A first
    call stores what the nightly batch had not (a computed snapshot), so both then find the same data."""
    _answer(client, body, **extra)
    reset_serving_state()
    with monkeypatch.context() as patch:
        patch.setattr(views, "hot_path_applies", lambda view: False)
        full = _answer(client, body, **extra)
    assert built, "the forced full path did not go through DRF"
    built.clear()
    reset_serving_state()
    hot = _answer(client, body, **extra)
    return full, hot


@pytest.mark.parametrize(
    "make_body",
    [
        pytest.param(lambda m: {"symbol": symbol_with_bar(m.last)}, id="latest"),
        pytest.param(lambda m: {"symbol": symbol_with_bar(m.last).lower(), "exchange": "NSE"}, id="lowercase+exchange"),
        pytest.param(lambda m: {"symbol": symbol_with_bar(m.last), "explain": True}, id="explain"),
        pytest.param(lambda m: {"symbol": m.symbols[1], "date": m.dates[-3].isoformat()}, id="earlier-date"),
        pytest.param(lambda m: {"symbol": "NOSUCH"}, id="unknown-symbol-404"),
        pytest.param(lambda m: {"symbol": m.symbols[0], "date": "2030-01-01"}, id="no-bar-404"),
    ],
)
def test_the_hot_path_answers_byte_for_byte_what_the_drf_view_answers(
    market: Market,
    production: ModelVersion,
    client_api: APIClient,
    monkeypatch: pytest.MonkeyPatch,
    drf_requests: list[int],
    make_body: Callable[[Market], dict[str, Any]],
) -> None:
    body = make_body(market)
    full, hot = _both_paths(client_api, body, monkeypatch, drf_requests)
    assert hot == full
    assert hot[0] in (200, 404)
    if hot[0] == 200:
        assert drf_requests == []  # answered without a DRF Request
    else:
        assert json.loads(hot[1])["error"]["code"]  # the one error shape, through the view's handler


def test_a_hot_call_is_audited_and_counted_once(
    market: Market, production: ModelVersion, client_api: APIClient, audit: list[logging.LogRecord]
) -> None:
    labels = {"model_version": f"{production.name} v{production.version}"}

    def served() -> float:
        return sum(
            REGISTRY.get_sample_value("vcp_predictions_total", {**labels, "outcome": outcome}) or 0.0
            for outcome in ("positive", "negative")
        )

    before = served()
    status, body, _ = _answer(client_api, {"symbol": symbol_with_bar(market.last)})
    assert status == 200
    assert served() == before + 1
    records = [r for r in audit if getattr(r, "symbol", None) == json.loads(body)["symbol"]]
    assert len(records) == 1
    actor = records[0].__dict__["actor"]  # an ``extra`` field of the audit record
    assert actor.startswith("token:")
    assert actor.endswith("user:desk")


def test_the_throttle_refuses_on_the_hot_path_and_counts_each_call_once(
    market: Market, production: ModelVersion, client_api: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", {"token": "2/min"})
    symbol = symbol_with_bar(market.last)
    codes = [_answer(client_api, {"symbol": symbol})[0] for _ in range(3)]
    assert codes == [200, 200, 429]
    response = client_api.post(PREDICT, data=json.dumps({"symbol": symbol}), content_type="application/json")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"
    assert int(response["Retry-After"]) > 0
    from common.api import throttling

    (state,) = throttling._windows.values()
    assert state.shared + state.pending == 4  # four calls, four counts: the refusals were not counted twice


@pytest.mark.parametrize(
    ("extra", "path_or_body"),
    [
        ({"HTTP_ACCEPT": "text/html"}, None),  # a media type the API does not render: DRF's 406
        ({}, "?format=json"),  # a query string: DRF's format override
        ({}, {"symbol": "X", "features": {"close_sma50": 1.0}}),  # a what-if vector: the serializer
        ({}, {"symbol": "X", "unexpected": 1}),  # an unknown key: the serializer's error
        ({"content_type": "application/json; charset=latin-1"}, None),  # a charset the hot path does not read
    ],
)
def test_anything_unusual_goes_to_the_drf_view(
    market: Market,
    production: ModelVersion,
    client_api: APIClient,
    drf_requests: list[int],
    extra: dict[str, Any],
    path_or_body: Any,
) -> None:
    path = PREDICT + (path_or_body if isinstance(path_or_body, str) else "")
    body = path_or_body if isinstance(path_or_body, dict) else {"symbol": symbol_with_bar(market.last)}
    extra = {"content_type": "application/json", **extra}
    response = client_api.post(path, data=json.dumps(body), **extra)
    assert drf_requests, "the call should have gone through the DRF view"
    if response.status_code != 200:
        assert set(response.json()["error"]) == {"code", "message", "details"}


@pytest.mark.parametrize(
    ("authorization", "code"), [(None, "not_authenticated"), ("Token not-a-token", "authentication_failed")]
)
def test_a_missing_or_bad_token_goes_to_the_drf_view(
    production: ModelVersion, drf_requests: list[int], authorization: str | None, code: str
) -> None:
    extra: dict[str, Any] = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    response = Client().post(PREDICT, data=json.dumps({"symbol": "ANY"}), content_type="application/json", **extra)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == code
    assert response.has_header("WWW-Authenticate")
    assert drf_requests


def test_a_body_that_is_not_utf8_json_goes_to_the_drf_view(
    production: ModelVersion, client_api: APIClient, drf_requests: list[int]
) -> None:
    raw = json.dumps({"symbol": "ANY"}).encode("utf-16")
    response = client_api.post(PREDICT, data=raw, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"
    assert drf_requests


def test_the_hot_path_only_runs_under_the_policies_it_replays(settings: Any) -> None:
    assert hotpath.hot_path_applies(PredictView())
    settings.VCP_API_HOT_PATH = False
    assert not hotpath.hot_path_applies(PredictView())
    settings.VCP_API_HOT_PATH = True

    class Stricter(PredictView):
        throttle_classes: list[type] = []

    assert not hotpath.hot_path_applies(Stricter())


def test_the_first_request_for_the_latest_session_copies_its_predictions_into_the_process(
    market: Market, production: ModelVersion, client_api: APIClient, shared_reads: list[int]
) -> None:
    from common import sharedcache
    from features import spec
    from predictions import lookups, serving
    from predictions.cache import prediction_key, predictions_cache

    if not sharedcache.is_shared():
        pytest.skip("needs the shared (Redis) cache tier: make test sets REDIS_URL")
    traded = lookups.instruments_traded_on(date=market.last)
    assert len(traded) > 10
    scored = serving.Scored(0.25, False, 0.5, 0.25, False, 0.25)
    keys = {
        prediction_key(
            version_id=production.pk,
            feature_set_hash=spec.FEATURE_SET_HASH,
            instrument_id=pk,
            date=market.last,
            explain=False,
        ): scored
        for pk in traded
    }
    predictions_cache.set_many(keys, local=False)  # what the nightly batch's warm step does
    first = _answer(client_api, {"symbol": symbol_with_bar(market.last)})
    assert first[0] == 200
    assert json.loads(first[1])["served_from"] == "cache"
    assert shared_reads == [len(traded)]  # one copy of the whole session, no per-symbol read
    with predictions_cache._lock:
        assert set(keys) <= set(predictions_cache._local.keys())
    for symbol in market.symbols[:10]:  # every other symbol of the session: no shared read at all
        status, body, _ = _answer(client_api, {"symbol": symbol})
        assert status == 200, body
    assert shared_reads == [len(traded)]
