"""End to end on the database: predictions joined to realised labels from the bars, then the action."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from modelregistry import services as registry
from modelregistry.choices import PromotionAction, VersionStatus
from modelregistry.models import ModelVersion, PromotionEvent
from monitoring import services
from monitoring.choices import AlertKind, DegradationAction
from monitoring.models import Alert, PerformanceReport
from tests.factories import register_version
from tests.monitoring.conftest import SeededWindow

MIN_POSITIVES = 50  # the seeded windows hold 100 positives; production uses 400 over ~900


@pytest.fixture(autouse=True)
def _alerts_by_email(settings: Any) -> None:
    settings.VCP_ALERT_EMAILS = ["ops@example.com"]
    settings.VCP_ALERT_WEBHOOK_URL = None


def _check(capture: Callable[..., Any]) -> PerformanceReport:
    with capture(execute=True):
        report = services.degradation_check(min_positives=MIN_POSITIVES)
    assert report is not None
    return report


def _rollbacks() -> int:
    return PromotionEvent.objects.filter(action=PromotionAction.ROLLBACK).count()


def test_realised_figures_come_from_the_next_sessions_bars(
    two_versions: tuple[ModelVersion, ModelVersion],
    seed_window: Callable[..., SeededWindow],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    _, v2 = two_versions
    window = seed_window(v2, tp=50, fp=50, fn=50)  # F1 0.5 = the test F1
    report = _check(django_capture_on_commit_callbacks)
    assert (report.tp, report.fp, report.fn) == (50, 50, 50)
    assert report.positives == 100
    assert report.rows == 20 * 50
    assert report.f1 == pytest.approx(window.f1) == pytest.approx(0.5)
    assert report.labelled_dates == 20
    assert (report.window_start, report.window_end) == (window.sessions[0], window.sessions[-2])
    assert report.as_of == window.sessions[-1]
    assert report.reference_f1 == 0.5
    assert report.relative_drop == pytest.approx(0.0)
    assert report.action == DegradationAction.NONE
    assert 0.0 <= report.precision_at_k <= 1.0
    assert Alert.objects.count() == 0


def test_drop_above_ten_percent_rolls_back_with_one_audit_row_and_one_alert(
    two_versions: tuple[ModelVersion, ModelVersion],
    seed_window: Callable[..., SeededWindow],
    django_capture_on_commit_callbacks: Callable[..., Any],
    mailoutbox: list[Any],
) -> None:
    v1, v2 = two_versions
    seed_window(v2, tp=40, fp=60, fn=60)  # F1 0.40: a 20% drop
    before = _rollbacks()
    report = _check(django_capture_on_commit_callbacks)

    assert report.f1 == pytest.approx(0.4)
    assert report.action == DegradationAction.ROLLBACK
    assert report.rolled_back_to == v1
    v1.refresh_from_db()
    v2.refresh_from_db()
    assert (v1.status, v2.status) == (VersionStatus.PRODUCTION, VersionStatus.ARCHIVED)
    assert v2.rolled_back_at is not None
    event = PromotionEvent.objects.filter(action=PromotionAction.ROLLBACK).latest("created_at")
    assert _rollbacks() == before + 1
    assert event.actor == "system"
    assert event.replaced_version == v2
    assert "F1 down 20.0%" in event.reason
    alert = Alert.objects.get()
    assert alert.kind == AlertKind.ROLLBACK
    assert alert.severity == "critical"
    assert v1.label in alert.message
    assert alert.delivery == {"email": "sent", "webhook": "skipped"}
    assert len(mailoutbox) == 1


def test_drop_between_five_and_ten_percent_only_alerts(
    two_versions: tuple[ModelVersion, ModelVersion],
    seed_window: Callable[..., SeededWindow],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    _, v2 = two_versions
    seed_window(v2, tp=47, fp=53, fn=53)  # F1 0.47: a 6% drop
    before = _rollbacks()
    report = _check(django_capture_on_commit_callbacks)
    assert report.relative_drop == pytest.approx(0.06)
    assert report.action == DegradationAction.ALERT
    v2.refresh_from_db()
    assert v2.status == VersionStatus.PRODUCTION
    assert _rollbacks() == before
    alert = Alert.objects.get()
    assert alert.kind == AlertKind.DEGRADATION
    assert alert.severity == "warning"


def test_too_few_positives_takes_no_action_whatever_the_drop(
    two_versions: tuple[ModelVersion, ModelVersion],
    seed_window: Callable[..., SeededWindow],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    _, v2 = two_versions
    seed_window(v2, tp=5, fp=40, fn=25)  # 30 positives, F1 0.13
    before = _rollbacks()
    report = _check(django_capture_on_commit_callbacks)
    assert report.positives == 30
    assert report.f1 == pytest.approx(10 / 75)
    assert report.action == DegradationAction.NONE
    assert "only 30 positives" in report.reason
    assert _rollbacks() == before
    assert Alert.objects.count() == 0


def test_running_the_check_twice_rolls_back_once(
    two_versions: tuple[ModelVersion, ModelVersion],
    seed_window: Callable[..., SeededWindow],
    django_capture_on_commit_callbacks: Callable[..., Any],
    mailoutbox: list[Any],
) -> None:
    v1, v2 = two_versions
    seed_window(v2, tp=40, fp=60, fn=60)
    before = _rollbacks()
    first = _check(django_capture_on_commit_callbacks)
    second = _check(django_capture_on_commit_callbacks)

    assert first.action == DegradationAction.ROLLBACK
    # The second run judges the version now in production, which has no predictions in the window.
    assert second.model_version == v1
    assert second.action == DegradationAction.NONE
    assert _rollbacks() == before + 1
    assert Alert.objects.count() == 1
    assert len(mailoutbox) == 1
    assert ModelVersion.objects.get(status=VersionStatus.PRODUCTION) == v1


def test_a_version_that_already_caused_a_rollback_only_alerts_when_promoted_again(
    two_versions: tuple[ModelVersion, ModelVersion],
    seed_window: Callable[..., SeededWindow],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    _, v2 = two_versions
    seed_window(v2, tp=40, fp=60, fn=60)
    _check(django_capture_on_commit_callbacks)
    registry.model_version_promote(version=v2, actor=None, reason="re-promoted after review")
    before = _rollbacks()

    report = _check(django_capture_on_commit_callbacks)
    assert report.model_version == v2
    assert report.action == DegradationAction.ALERT
    assert "already caused a rollback" in report.reason
    assert _rollbacks() == before
    v2.refresh_from_db()
    assert v2.status == VersionStatus.PRODUCTION


def test_no_previous_version_gives_an_alert_only(
    db: None,
    seed_window: Callable[..., SeededWindow],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    only = register_version(seed=3, f1=0.5)
    only = registry.model_version_promote(version=only, actor=None, reason="the first model")
    seed_window(only, tp=40, fp=60, fn=60)
    report = _check(django_capture_on_commit_callbacks)
    assert report.action == DegradationAction.ALERT
    assert "no previous version" in report.reason
    assert _rollbacks() == 0
    only.refresh_from_db()
    assert only.status == VersionStatus.PRODUCTION
    assert Alert.objects.get().kind == AlertKind.DEGRADATION


def test_label_free_estimate_covers_the_predictions_still_waiting_for_labels(
    two_versions: tuple[ModelVersion, ModelVersion],
    seed_window: Callable[..., SeededWindow],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    _, v2 = two_versions
    window = seed_window(v2, tp=50, fp=50, fn=50)
    report = _check(django_capture_on_commit_callbacks)
    # Last session: 3 calls at p = 0.8, 47 others at p = 0.02.
    e_tp, e_fp, e_fn = 3 * 0.8, 3 * 0.2, 47 * 0.02
    assert report.estimated_for == window.sessions[-1]
    assert report.estimated_rows == 50
    assert report.estimated_f1 == pytest.approx(2 * e_tp / (2 * e_tp + e_fp + e_fn))
    assert report.estimated_precision == pytest.approx(0.8)


def test_before_any_label_only_the_estimate_exists_and_nothing_happens(
    two_versions: tuple[ModelVersion, ModelVersion],
    seed_window: Callable[..., SeededWindow],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    _, v2 = two_versions
    window = seed_window(v2, tp=0, fp=0, fn=0, days=0)  # one session: today's predictions only
    report = _check(django_capture_on_commit_callbacks)
    assert report.f1 is None
    assert report.labelled_dates == 0
    assert report.estimated_f1 is not None
    assert report.estimated_for == window.sessions[0]
    assert report.action == DegradationAction.NONE
    assert report.reason == "no labels yet"


def test_the_check_is_idempotent_per_version_and_day(
    two_versions: tuple[ModelVersion, ModelVersion],
    seed_window: Callable[..., SeededWindow],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    _, v2 = two_versions
    seed_window(v2, tp=50, fp=50, fn=50)
    _check(django_capture_on_commit_callbacks)
    _check(django_capture_on_commit_callbacks)
    assert PerformanceReport.objects.filter(model_version=v2).count() == 1


def test_nothing_in_production_means_nothing_to_check(db: None) -> None:
    assert services.degradation_check() is None
    assert PerformanceReport.objects.count() == 0


def test_no_bars_is_a_clear_error(two_versions: tuple[ModelVersion, ModelVersion]) -> None:
    with pytest.raises(services.MonitoringError, match="no bars stored"):
        services.degradation_check()
