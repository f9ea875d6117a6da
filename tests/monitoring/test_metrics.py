"""The monitoring state gauges, set from one PlatformState and refreshed at scrape time."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from prometheus_client import REGISTRY, generate_latest

from common.metrics import state_source_register
from features.reference import reference_from_training
from monitoring import metrics
from monitoring.drift import drift_report
from monitoring.performance import DegradationAction


def _value(name: str, labels: dict[str, str] | None = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


@pytest.fixture
def no_state_source() -> Iterator[None]:
    yield
    state_source_register(refresh=None)


def test_drift_gauges_follow_the_latest_report() -> None:
    rng = np.random.default_rng(0)
    reference = reference_from_training(rng.normal(size=(5_000, 2)), ["ret_1d", "range_pos"])
    current = rng.normal(size=(1_000, 2))
    current[:, 1] += 2.0
    result = drift_report(reference, current)
    metrics.drift_result_publish(result, checked_at=1_700_000_000.0)
    assert _value("vcp_drift_psi", {"feature": "range_pos"}) == pytest.approx(result.features[1].psi)
    assert _value("vcp_drift_psi_critical", {"feature": "ret_1d"}) == pytest.approx(result.features[0].psi_critical)
    assert _value("vcp_drift_status") == 2.0
    assert _value("vcp_drift_last_check_timestamp_seconds") == 1_700_000_000.0

    # A later report with other features replaces the label set.
    other = reference_from_training(rng.normal(size=(5_000, 1)), ["volume_ratio"])
    metrics.drift_result_publish(drift_report(other, rng.normal(size=(1_000, 1))))
    assert REGISTRY.get_sample_value("vcp_drift_psi", {"feature": "range_pos"}) is None
    assert _value("vcp_drift_status") == 0.0


def test_state_publish_sets_model_quality_version_and_alerts(no_state_source: None) -> None:
    metrics.state_publish(
        metrics.PlatformState(
            production_model_version="v7",
            realised_f1={"v7": 0.44},
            estimated_f1={"v7": 0.47},
            reference_f1={"v7": 0.5},
            degradation_action={"v7": DegradationAction.ROLLBACK},
            open_alerts={"drift": 2},
            last_batch_success_at=1_700_000_000.0,
        )
    )
    assert _value("vcp_production_model_info", {"version": "v7"}) == 1.0
    assert _value("vcp_model_realised_f1", {"model_version": "v7"}) == 0.44
    assert _value("vcp_model_estimated_f1", {"model_version": "v7"}) == 0.47
    assert _value("vcp_model_reference_f1", {"model_version": "v7"}) == 0.5
    assert _value("vcp_model_degradation_action", {"model_version": "v7"}) == 2.0
    assert _value("vcp_open_alerts", {"kind": "drift"}) == 2.0

    metrics.state_publish(metrics.PlatformState(production_model_version=None))
    assert REGISTRY.get_sample_value("vcp_production_model_info", {"version": "v7"}) is None
    assert REGISTRY.get_sample_value("vcp_model_realised_f1", {"model_version": "v7"}) is None
    assert REGISTRY.get_sample_value("vcp_open_alerts", {"kind": "drift"}) is None


def test_state_source_is_read_at_scrape_time_and_throttled(no_state_source: None) -> None:
    calls: list[int] = []

    def load() -> metrics.PlatformState:
        calls.append(1)
        return metrics.PlatformState(production_model_version=f"v{len(calls)}", open_alerts={"batch": len(calls)})

    state_source_register(refresh=lambda: metrics.state_publish(load()), ttl_seconds=3600)
    first = generate_latest(REGISTRY).decode()
    generate_latest(REGISTRY)
    assert len(calls) == 1  # the second scrape falls inside the ttl
    assert 'vcp_production_model_info{version="v1"} 1.0' in first  # gauges refreshed before being collected
    assert 'vcp_open_alerts{kind="batch"} 1.0' in first


def test_a_failing_state_source_keeps_metrics_up(no_state_source: None) -> None:
    metrics.state_publish(metrics.PlatformState(production_model_version="v3"))
    errors = _value("vcp_state_refresh_errors_total")

    def broken() -> metrics.PlatformState:
        raise RuntimeError("database is down")

    state_source_register(refresh=lambda: metrics.state_publish(broken()), ttl_seconds=3600)
    text = generate_latest(REGISTRY).decode()
    assert 'vcp_production_model_info{version="v3"} 1.0' in text
    assert _value("vcp_state_refresh_errors_total") == errors + 1
