"""The drift check on the database: snapshots against the production version's frozen reference."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from features.spec import FEATURE_NAMES
from modelregistry import services as registry
from modelregistry.models import ModelVersion
from monitoring import services
from monitoring.choices import AlertKind, DriftStatus
from monitoring.drift import drift_report
from monitoring.models import Alert, DriftReport
from tests.factories import register_version
from tests.monitoring.conftest import REFERENCE, current_features


@pytest.mark.parametrize(
    ("shift", "status"),
    [(0.0, DriftStatus.OK), (0.4, DriftStatus.WARN), (1.0, DriftStatus.ALERT)],
)
def test_drift_report_is_stored_with_its_status_level(
    snapshots: Callable[..., list[dt.date]], production: ModelVersion, shift: float, status: DriftStatus, settings: Any
) -> None:
    settings.VCP_DRIFT_PERSIST_K = 1  # one window is enough here; persistence has its own tests
    values = current_features(300, shift)
    sessions = snapshots(values)
    report = services.drift_check(window_days=3)
    assert report is not None
    assert report.status == status
    assert report.retrain_needed == (status == DriftStatus.ALERT)
    assert (report.window_start, report.date, report.n_current) == (sessions[0], sessions[-1], 300)
    assert report.n_reference == 20_000
    expected = drift_report(REFERENCE, values, include_missing=False)  # the stored figures are the pure module's
    stored = report.drift_result()
    assert stored.features[0].psi == pytest.approx(expected.features[0].psi)
    assert stored.features[0].ks_statistic == pytest.approx(expected.features[0].ks_statistic)
    assert stored.features[0].psi_critical == pytest.approx(expected.features[0].psi_critical)
    assert report.drifted_features == ([] if status == DriftStatus.OK else [FEATURE_NAMES[0]])


def test_alert_status_raises_one_retrain_needed_alert_per_day(
    snapshots: Callable[..., list[dt.date]],
    production: ModelVersion,
    settings: Any,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    settings.VCP_ALERT_EMAILS = ["ops@example.com"]
    settings.VCP_DRIFT_PERSIST_K = 1
    snapshots(current_features(300, 1.0))
    with django_capture_on_commit_callbacks(execute=True):
        services.drift_check(window_days=3)
        services.drift_check(window_days=3)  # a rerun updates the report and repeats the alert silently
    assert DriftReport.objects.count() == 1
    alert = Alert.objects.get()
    assert alert.kind == AlertKind.DRIFT
    assert alert.message.startswith("Retrain needed")
    assert FEATURE_NAMES[0] in alert.message
    assert alert.occurrences == 2
    assert len(mailoutbox) == 1


def test_a_small_sample_does_not_cry_wolf(snapshots: Callable[..., list[dt.date]]) -> None:
    # 60 rows shifted by 0.5 sd: the fixed reading says WARN, but the sample is too small to judge.
    snapshots(current_features(60, 0.5), days=1)
    report = services.drift_check()
    assert report is not None
    feature = report.drift_result().features[0]
    assert feature.psi >= 0.1
    assert feature.psi_critical > 0.25  # the noise limit for 60 rows is above even the fixed alert line
    assert not feature.enough_data
    assert report.status == DriftStatus.OK


def test_missing_values_are_a_missing_rate_change_apart_from_psi(snapshots: Callable[..., list[dt.date]]) -> None:
    broken = current_features(30, 0.0)
    broken[:, 5] = np.nan  # a feed that lost one feature for 30 stocks
    snapshots(np.vstack([current_features(300, 0.0), broken]))
    report = services.drift_check(window_days=3)
    assert report is not None
    feature = report.drift_result().features[5]
    assert feature.missing_share_current == pytest.approx(30 / 330)
    assert feature.missing_change == pytest.approx(30 / 330)
    assert feature.missing_shift
    assert feature.psi < 0.1  # the missing share is not mixed into PSI (it once added 0.42)
    assert report.missing_shifted == [FEATURE_NAMES[5]]
    assert report.status == DriftStatus.OK


def test_rows_outside_the_reference_population_are_left_out(
    db: None, snapshots: Callable[..., list[dt.date]], production: ModelVersion
) -> None:
    # The reference was frozen on seasoned stocks only (feature 1 defined); recent listings lack it.
    reference = {**REFERENCE.to_dict(), "population": f"finite:{FEATURE_NAMES[1]}"}
    type(production).objects.filter(pk=production.pk).update(reference=reference)
    young = current_features(60, 3.0)  # recent listings look nothing like the reference: they must not count
    young[:, 1] = np.nan
    snapshots(np.vstack([current_features(300, 0.0), young]))
    report = services.drift_check(window_days=3)
    assert report is not None
    assert report.population == f"finite:{FEATURE_NAMES[1]}"
    assert report.n_current == 300
    assert report.drift_result().features[1].missing_share_current == 0.0
    assert report.status == DriftStatus.OK


def test_level_features_are_measured_but_never_decide(
    snapshots: Callable[..., list[dt.date]], settings: Any, production: ModelVersion
) -> None:
    settings.VCP_DRIFT_PERSIST_K = 1
    names = list(FEATURE_NAMES)
    level = names.index("log_traded_value20")
    values = current_features(300, 0.0)
    values[:, level] += 2.0  # turnover grew with the market
    snapshots(values)
    report = services.drift_check(window_days=3)
    assert report is not None
    result = report.drift_result()
    assert result.features[level].status == DriftStatus.ALERT
    assert "log_traded_value20" in result.excluded
    assert "level feature" in result.excluded["log_traded_value20"]
    assert report.alerting_features == []
    assert not report.retrain_needed


def test_an_injected_shift_needs_persistence_and_names_that_feature_only(
    production: ModelVersion,
    snapshots: Callable[..., list[dt.date]],
    settings: Any,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    # Default persistence: the same feature at ALERT in 2 of the last 3 non-overlapping windows.
    assert (settings.VCP_DRIFT_PERSIST_K, settings.VCP_DRIFT_PERSIST_N) == (2, 3)
    # Feature 0 shifted by one sd in each of three windows of three sessions.
    sessions = snapshots(np.vstack([current_features(300, 1.0)] * 3), days=9)
    with django_capture_on_commit_callbacks(execute=True):
        first = services.drift_check(date=sessions[2], window_days=3)
        second = services.drift_check(date=sessions[5], window_days=3)
    assert first is not None
    assert second is not None
    assert first.alerting_features == [FEATURE_NAMES[0]]
    assert not first.retrain_needed  # one window is not persistent
    assert second.retrain_needed
    assert second.persistence["persistent"] == [FEATURE_NAMES[0]]
    alert = Alert.objects.get()
    assert alert.kind == AlertKind.DRIFT
    assert alert.context["persistent_features"] == [FEATURE_NAMES[0]]
    assert "2 of the last 2 windows" in alert.message
    assert not any(name in alert.message for name in FEATURE_NAMES[1:])


def test_window_days_pools_the_latest_snapshot_dates(snapshots: Callable[..., list[dt.date]]) -> None:
    sessions = snapshots(current_features(300, 0.0))
    report = services.drift_check()  # default window: 20 snapshot dates, so all three here
    assert report is not None
    assert (report.window_start, report.date, report.n_current) == (sessions[0], sessions[-1], 300)
    latest = services.drift_check(window_days=1)
    assert latest is not None
    assert (latest.window_start, latest.date, latest.n_current) == (sessions[-1], sessions[-1], 100)
    earlier = services.drift_check(date=sessions[1], window_days=2)
    assert earlier is not None
    assert (earlier.window_start, earlier.date, earlier.n_current) == (sessions[0], sessions[1], 200)


def test_a_version_without_a_reference_cannot_be_checked(db: None) -> None:
    version = register_version()
    registry.model_version_promote(version=version, actor=None, reason="no reference")
    with pytest.raises(services.MonitoringError, match="no frozen drift reference"):
        services.drift_check()


def test_no_snapshots_is_a_clear_error(production: ModelVersion) -> None:
    with pytest.raises(services.MonitoringError, match="no feature snapshots"):
        services.drift_check()


def test_watched_features_decide_the_status_and_the_rest_is_still_reported(
    snapshots: Callable[..., list[dt.date]], settings: Any, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    settings.VCP_DRIFT_WATCHED_FEATURES = [FEATURE_NAMES[1], FEATURE_NAMES[2]]
    settings.VCP_DRIFT_PERSIST_K = 1
    snapshots(current_features(300, 1.0))  # only feature 0 drifts
    with django_capture_on_commit_callbacks(execute=True):
        report = services.drift_check(window_days=3)
    assert report is not None
    assert report.status == DriftStatus.OK
    assert not report.retrain_needed
    assert report.drifted_features == [FEATURE_NAMES[0]]
    assert report.drift_result().watched == (FEATURE_NAMES[1], FEATURE_NAMES[2])
    assert Alert.objects.count() == 0


def test_a_watched_feature_the_model_lacks_is_a_clear_error(
    snapshots: Callable[..., list[dt.date]], settings: Any
) -> None:
    settings.VCP_DRIFT_WATCHED_FEATURES = ["no_such_feature"]
    snapshots(current_features(300, 0.0))
    with pytest.raises(services.MonitoringError, match="VCP_DRIFT_WATCHED_FEATURES"):
        services.drift_check(window_days=3)
