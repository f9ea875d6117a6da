"""/metrics scraped through Django: the custom series are present and their values match the database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from common.choices import RunStatus
from common.metrics import STATE_REFRESH_ERRORS, observe_batch_run, observe_prediction, state_source_register
from marketdata.models import Instrument
from modelregistry import services as registry
from modelregistry.models import ModelVersion
from monitoring import metrics, services
from monitoring.models import Alert
from monitoring.state import state_refresh
from predictions.models import BatchRun, FeatureSnapshot
from tests.factories import register_version
from tests.monitoring.conftest import REFERENCE, LiftMarket, SeededWindow, current_features


def _scrape(client: Any) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def _get(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


@pytest.fixture
def fresh_state() -> Iterator[None]:
    state_source_register(refresh=state_refresh, ttl_seconds=30.0)  # forget the last load
    yield
    state_source_register(refresh=state_refresh, ttl_seconds=30.0)


def test_metrics_endpoint_exports_custom_series_with_sane_values(
    client: Any,
    fresh_state: None,
    two_versions: tuple[ModelVersion, ModelVersion],
    seed_window: Callable[..., SeededWindow],
    settings: Any,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    settings.VCP_ALERT_EMAILS = []
    settings.VCP_DEGRADATION_PERSIST_K = 1  # one evening's drop alerts here: persistence has its own tests
    _, v2 = two_versions
    seed_window(v2, tp=20, fp=80, fn=80)  # no better than "hit today": one open degradation alert
    with django_capture_on_commit_callbacks(execute=True):
        report = services.degradation_check(min_positives=50, window_days=20)
    finished = timezone.now() - dt.timedelta(hours=2)
    BatchRun.objects.create(date="2024-01-30", status=RunStatus.SUCCEEDED, scored=50, finished_at=finished)
    observe_prediction(endpoint="predict", model_version=v2.label, outcome="positive", seconds=0.003)
    observe_batch_run(status="success", seconds=12.0, rows=50)

    samples = _scrape(client)

    assert _get(samples, "vcp_production_model_info", version=v2.label) == 1.0
    assert _get(samples, "vcp_model_realised_f1", model_version=v2.label) == pytest.approx(0.2)
    assert _get(samples, "vcp_model_reference_f1", model_version=v2.label) == 0.5
    assert 0.0 < _get(samples, "vcp_model_estimated_f1", model_version=v2.label) <= 1.0
    assert report.estimated_f1 == pytest.approx(_get(samples, "vcp_model_estimated_f1", model_version=v2.label))
    assert _get(samples, "vcp_model_degradation_action", model_version=v2.label) == 1.0  # alert
    assert _get(samples, "vcp_open_alerts", kind="degradation") == Alert.objects.count() == 1
    assert _get(samples, "vcp_open_alerts", kind="drift") == 0.0
    assert _get(samples, "vcp_batch_last_success_timestamp_seconds") == pytest.approx(finished.timestamp())
    assert _get(samples, "vcp_predictions_total", model_version=v2.label, outcome="positive") >= 1.0
    assert _get(samples, "vcp_prediction_latency_seconds_bucket", endpoint="predict", le="0.005") >= 1.0
    assert _get(samples, "vcp_batch_rows_scored_total") >= 50.0
    assert _get(samples, "vcp_cache_lookups_total", tier="redis", kind="prediction", result="hit") >= 0.0
    assert _get(samples, "process_resident_memory_bytes") > 10 * 1024 * 1024
    assert _get(samples, "process_open_fds") > 0
    assert _get(samples, "process_cpu_seconds_total") > 0
    assert _get(samples, "vcp_state_refresh_errors_total") == 0.0

    # django-prometheus counted the scrape request itself.
    again = _scrape(client)
    assert _get(again, "django_http_requests_total_by_method_total", method="GET") >= 1.0
    assert _get(again, "django_http_responses_total_by_status_total", status="200") >= 1.0


def test_drift_gauges_come_from_the_latest_stored_report(
    client: Any, fresh_state: None, settings: Any, db: None
) -> None:
    version = registry.model_version_promote(
        version=register_version(reference=REFERENCE.to_dict()), actor=None, reason="metrics"
    )
    for i, row in enumerate(current_features(250, 0.4)):
        FeatureSnapshot.objects.create(
            instrument=Instrument.objects.create(symbol=f"M{i}"),
            date="2024-03-01",
            feature_set_hash=version.feature_set_hash,
            values=row.tolist(),
        )
    report = services.drift_check()
    assert report is not None
    metrics.DRIFT_PSI.clear()  # what a web process that did not run the check starts with

    samples = _scrape(client)
    stored = {f.name: f for f in report.drift_result().features}
    for name, feature in stored.items():
        assert _get(samples, "vcp_drift_psi", feature=name) == pytest.approx(feature.psi)
        assert _get(samples, "vcp_drift_psi_critical", feature=name) == pytest.approx(feature.psi_critical)
        assert 0.0 <= _get(samples, "vcp_drift_ks_statistic", feature=name) <= 1.0
    assert _get(samples, "vcp_drift_status") == 1.0  # warn
    assert _get(samples, "vcp_drift_last_check_timestamp_seconds") == pytest.approx(report.created_at.timestamp())


def test_a_failing_state_source_keeps_metrics_up(client: Any, db: None) -> None:
    def broken() -> metrics.PlatformState:
        raise RuntimeError("database down")

    before = STATE_REFRESH_ERRORS._value.get()
    state_source_register(refresh=lambda: metrics.state_publish(broken()))
    try:
        samples = _scrape(client)
    finally:
        state_source_register(refresh=state_refresh)
    assert _get(samples, "vcp_state_refresh_errors_total") == before + 1


def test_a_degradation_decision_is_exported_only_for_the_latest_check_day(
    client: Any,
    fresh_state: None,
    two_versions: tuple[ModelVersion, ModelVersion],
    lift_market: Callable[..., LiftMarket],
    settings: Any,
) -> None:
    settings.VCP_ALERT_EMAILS = []
    v1, v2 = two_versions
    market = lift_market(v2, days=30, bad=range(10, 30), shadow=(v1,))
    evenings = iter(market.sessions[10:])
    for day in evenings:
        report = services.degradation_check(as_of=day, min_positives=50)
        assert report is not None
        if report.action == "rollback":  # v2 rolled back to v1 this evening
            break
    samples = _scrape(client)
    assert _get(samples, "vcp_model_degradation_action", model_version=v2.label) == 2.0

    state_source_register(refresh=state_refresh)
    services.degradation_check(as_of=next(evenings), min_positives=50)  # the next evening judges v1
    samples = _scrape(client)
    assert ("vcp_model_degradation_action", frozenset({"model_version": v2.label}.items())) not in samples
    assert _get(samples, "vcp_model_degradation_action", model_version=v1.label) == 0.0
    assert _get(samples, "vcp_model_realised_f1", model_version=v2.label) == pytest.approx(report.f1)
    assert _get(samples, "vcp_production_model_info", version=v1.label) == 1.0
