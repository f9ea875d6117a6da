"""No input reaches a 5xx: Hypothesis sends arbitrary JSON (any shape, Unicode, sizes, nesting up to
2,000 deep), arbitrary query strings and raw bytes to every API endpoint, with and without a token.

schemathesis (tests/predictions/test_schema.py) generates requests that follow the schema or break it
field by field; this suite throws what no schema describes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from modelregistry.models import ModelVersion
from tests.predictions.conftest import load_market

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

POSTS = ["/api/v1/predict", "/api/v1/batch_predict"]
GETS = ["/api/v1/predictions", "/api/v1/models", "/api/v1/models/1", "/api/v1/health", "/api/v1/health/ready"]
EVERY = POSTS + GETS

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=40)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=20), children, max_size=5),
    max_leaves=30,
)
# Bodies that look like the API's own, with wrong types, odd symbols and odd dates.
plausible = st.fixed_dictionaries(
    {},
    optional={
        "symbol": st.text(max_size=30) | scalars,
        "exchange": st.sampled_from(["NSE", "BSE", "nse", "", "LSE"]) | scalars,
        "date": st.dates().map(str) | st.text(max_size=12) | scalars,
        "explain": st.booleans() | scalars,
        "features": st.dictionaries(st.text(max_size=20), scalars, max_size=30) | scalars,
        "items": st.lists(st.dictionaries(st.sampled_from(["symbol", "exchange", "date"]), scalars), max_size=20)
        | scalars,
    },
)


def _nested(depth: int, kind: str) -> str:
    return ("[" * depth + "]" * depth) if kind == "list" else ('{"a":' * depth + "1" + "}" * depth)


bodies = st.one_of(
    json_values.map(lambda v: json.dumps(v, allow_nan=True)),
    plausible.map(lambda v: json.dumps(v, allow_nan=True)),
    st.tuples(st.integers(1, 2000), st.sampled_from(["list", "dict"])).map(lambda t: _nested(*t)),
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
    st.integers(1, 3_000_000).map(lambda n: json.dumps({"symbol": "A" * n})),
)
query_values = (
    st.text(max_size=30)
    | st.integers().map(str)
    | st.sampled_from(["²", "\u0661\u0662", "\uff11", "9" * 40, "-1", "0"])
)
queries = st.dictionaries(
    st.sampled_from(["page", "page_size", "date", "model_version", "min_probability", "series", "will_hit", "ordering"])
    | st.text(max_size=10),
    query_values,
    max_size=4,
)
content_types = st.sampled_from(
    ["application/json", "application/json; charset=utf-8", "application/json; charset=latin-1", "text/plain", ""]
)


@pytest.fixture
def clients(fresh_serving_state: None, production: ModelVersion, django_user_model: Any) -> list[APIClient]:
    load_market(stocks=6)
    user = django_user_model.objects.create(username="fuzzer")
    authed = APIClient()
    authed.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return [authed, APIClient()]


def _check(response: Any, what: str) -> None:
    assert response.status_code < 500, (what, response.status_code, response.content[:300])
    if response.status_code >= 400 and response.get("Content-Type", "").startswith("application/json"):
        assert set(response.json()) == {"error"}, what


def test_arbitrary_bodies_never_get_a_5xx(clients: list[APIClient]) -> None:
    @given(path=st.sampled_from(EVERY), body=bodies, content_type=content_types, authed=st.booleans())
    @settings(max_examples=250, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def post(path: str, body: str, content_type: str, authed: bool) -> None:
        client = clients[0 if authed else 1]
        response = client.generic("POST", path, body.encode("utf-8", "surrogatepass"), content_type=content_type)
        _check(response, f"POST {path} {content_type} {body[:80]!r}")

    post()


def test_arbitrary_query_strings_never_get_a_5xx(clients: list[APIClient]) -> None:
    @given(path=st.sampled_from(GETS), query=queries, authed=st.booleans())
    @settings(max_examples=200, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def get(path: str, query: dict[str, str], authed: bool) -> None:
        response = clients[0 if authed else 1].get(path, query)
        _check(response, f"GET {path} {query!r}")

    get()
