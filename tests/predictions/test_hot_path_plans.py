"""Every query of the hot paths can use an index: EXPLAIN finds no sequential scan of the big tables.

The queries are captured while the real API answers /predict, /batch_predict and /predictions (each
filter), then explained on PostgreSQL with ``enable_seqscan = off``: on a test-sized table the planner
prefers a sequential scan anyway, but with it "off" it still chooses one only when no index can
serve the query, which is exactly the regression to catch (a 3.4M-row DailyBar or a 11,000-row-a-day
Prediction table read end to end per request).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from marketdata.models import DailyBar
from modelregistry.models import ModelVersion
from predictions import services
from predictions.models import FeatureSnapshot, Prediction
from tests.predictions.conftest import Market, symbol_with_bar

pytestmark = [pytest.mark.django_db]

HOT_TABLES = {DailyBar._meta.db_table, Prediction._meta.db_table, FeatureSnapshot._meta.db_table}


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def seq_scans(sql: str, params: Any = None) -> list[str]:
    """Hot tables read by a sequential scan in the plan of ``sql`` (indexes preferred whenever usable)."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        (raw,) = cursor.fetchone()
    plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]
    return [
        n["Relation Name"]
        for n in _nodes(plan)
        if n["Node Type"] == "Seq Scan" and n.get("Relation Name") in HOT_TABLES
    ]


def _hot_selects(captured: CaptureQueriesContext) -> list[str]:
    return [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].lstrip().upper().startswith(("SELECT", "WITH")) and any(t in q["sql"] for t in HOT_TABLES)
    ]


@pytest.fixture
def postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("EXPLAIN plans are checked on PostgreSQL (make test runs it)")


@pytest.mark.usefixtures("postgres_only")
def test_no_hot_query_scans_a_big_table_sequentially(
    market: Market, production: ModelVersion, client_api: APIClient
) -> None:
    services.batch_run_inline(date=market.last)
    symbol = symbol_with_bar(market.last)
    others = list(Prediction.objects.values_list("instrument__symbol", flat=True)[:10])
    earlier = market.dates[-3].isoformat()  # no snapshot: computed from the bars
    with CaptureQueriesContext(connection) as captured:
        client_api.post("/api/v1/predict", {"symbol": symbol}, format="json")
        client_api.post("/api/v1/predict", {"symbol": others[1], "date": earlier}, format="json")
        items = [{"symbol": s} for s in others] + [{"symbol": s, "date": earlier} for s in others[2:6]]
        assert client_api.post("/api/v1/batch_predict", {"items": items}, format="json").status_code == 200
        for query in (
            "",
            "?page_size=500",
            f"?date={market.last.isoformat()}&min_probability=0.1",
            "?series=EQ&will_hit=true",
            "?fresh=true",
            "?ordering=-probability",
            "?ordering=symbol",
            f"?model_version={production.pk}",
        ):
            assert client_api.get(f"/api/v1/predictions{query}").status_code == 200
    selects = _hot_selects(captured)
    assert len(selects) >= 10  # the capture saw the serving, batch and list reads
    # The bars read for computed features goes through COPY (not captured): its shape, explained here.
    ids = list(Prediction.objects.values_list("instrument_id", flat=True)[:6])
    bars = DailyBar.objects.filter(instrument_id__in=ids, date__range=(market.dates[-300], market.last))
    bars_sql, bars_params = bars.order_by("date", "instrument_id").query.sql_with_params()
    with connection.cursor():
        scans = {sql[:160]: seq_scans(sql) for sql in selects}
        scans["bars read"] = seq_scans(bars_sql, bars_params)
    assert {sql: tables for sql, tables in scans.items() if tables} == {}


@pytest.mark.usefixtures("postgres_only")
def test_the_plan_check_catches_a_sequential_scan(market: Market) -> None:
    # A filter no index serves: the check must flag it, or the test above proves nothing.
    assert seq_scans(f"SELECT * FROM {DailyBar._meta.db_table} WHERE volume > 5") == [DailyBar._meta.db_table]
