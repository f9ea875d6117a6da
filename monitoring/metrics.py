"""The monitoring state gauges: what the database says about drift, model quality and alerts.

``state_publish`` sets them from one ``PlatformState``; ``MonitoringConfig.ready`` registers the
database read (``monitoring.state``) with ``common.metrics.state_source_register`` so every process
reports the same figures at scrape time. The event collectors live in ``common.metrics``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from prometheus_client import Gauge, Info

from common.metrics import BATCH_LAST_SUCCESS
from monitoring.drift import DriftResult
from monitoring.performance import DegradationAction

DRIFT_PSI = Gauge("vcp_drift_psi", "Latest population stability index per feature.", ["feature"])
DRIFT_PSI_CRITICAL = Gauge(
    "vcp_drift_psi_critical", "Sample-size-aware PSI critical value per feature (alpha 0.05).", ["feature"]
)
DRIFT_KS = Gauge("vcp_drift_ks_statistic", "Latest two-sample KS statistic per feature.", ["feature"])
DRIFT_STATUS = Gauge("vcp_drift_status", "Overall drift status of the latest check: 0 ok, 1 warn, 2 alert.")
DRIFT_LAST_CHECK = Gauge("vcp_drift_last_check_timestamp_seconds", "When the latest drift check ran.")
MODEL_REALISED_F1 = Gauge("vcp_model_realised_f1", "Realised F1 over the monitoring window.", ["model_version"])
MODEL_ESTIMATED_F1 = Gauge(
    "vcp_model_estimated_f1", "Label-free F1 estimate from calibrated probabilities.", ["model_version"]
)
MODEL_REFERENCE_F1 = Gauge("vcp_model_reference_f1", "F1 of the version on its test set.", ["model_version"])
MODEL_DEGRADATION_ACTION = Gauge(
    "vcp_model_degradation_action", "Latest degradation decision: 0 none, 1 alert, 2 rollback.", ["model_version"]
)
PRODUCTION_MODEL = Info("vcp_production_model", "The model version serving predictions.")
OPEN_ALERTS = Gauge("vcp_open_alerts", "Unresolved platform alerts by kind.", ["kind"])


@dataclass(frozen=True)
class PlatformState:
    """A snapshot of the database-held monitoring state; maps are keyed by feature or model version."""

    production_model_version: str | None = None
    drift_result: DriftResult | None = None
    drift_checked_at: float | None = None
    realised_f1: Mapping[str, float] = field(default_factory=dict)
    estimated_f1: Mapping[str, float] = field(default_factory=dict)
    reference_f1: Mapping[str, float] = field(default_factory=dict)
    degradation_action: Mapping[str, DegradationAction] = field(default_factory=dict)
    open_alerts: Mapping[str, int] = field(default_factory=dict)
    last_batch_success_at: float | None = None


def _replace_labelled(gauge: Gauge, values: Mapping[str, float]) -> None:
    # Clearing first drops features or versions that are gone from the source.
    gauge.clear()
    for label, value in values.items():
        gauge.labels(label).set(value)


def drift_result_publish(result: DriftResult, *, checked_at: float | None = None) -> None:
    """Set the drift gauges from one drift report (replacing the previous report's features)."""
    _replace_labelled(DRIFT_PSI, {f.name: f.psi for f in result.features})
    _replace_labelled(DRIFT_PSI_CRITICAL, {f.name: f.psi_critical for f in result.features})
    _replace_labelled(DRIFT_KS, {f.name: f.ks_statistic for f in result.features})
    DRIFT_STATUS.set(result.status.level)
    DRIFT_LAST_CHECK.set(time.time() if checked_at is None else checked_at)


def production_model_publish(version: str | None) -> None:
    """The Info metric's ``version`` label; an empty string when no version is in production."""
    PRODUCTION_MODEL.info({"version": version or ""})


def state_publish(state: PlatformState) -> None:
    """Set every state gauge from one snapshot; maps replace the previous label sets."""
    production_model_publish(state.production_model_version)
    if state.drift_result is not None:
        drift_result_publish(state.drift_result, checked_at=state.drift_checked_at)
    _replace_labelled(MODEL_REALISED_F1, state.realised_f1)
    _replace_labelled(MODEL_ESTIMATED_F1, state.estimated_f1)
    _replace_labelled(MODEL_REFERENCE_F1, state.reference_f1)
    _replace_labelled(MODEL_DEGRADATION_ACTION, {v: a.level for v, a in state.degradation_action.items()})
    _replace_labelled(OPEN_ALERTS, state.open_alerts)
    if state.last_batch_success_at is not None:
        BATCH_LAST_SUCCESS.set(state.last_batch_success_at)
