"""End to end on the database: predictions joined to realised labels from the bars, judged by the
lift over "hit today", then the action: alert on a persistent drop, roll back only to a better,
shadow-scored version, once per incident."""

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
from tests.monitoring.conftest import LiftMarket, SeededWindow

MIN_POSITIVES = 50  # the seeded windows hold 80-100 positives


@pytest.fixture(autouse=True)
def _alerts_by_email(settings: Any) -> None:
    settings.VCP_ALERT_EMAILS = ["ops@example.com"]
    settings.VCP_ALERT_WEBHOOK_URL = None


def _check(capture: Callable[..., Any]) -> PerformanceReport:  # the latest evening, as the command runs it
    with capture(execute=True):
        report = services.degradation_check(min_positives=MIN_POSITIVES)
    assert report is not None
    return report


def _rollbacks() -> int:
    return PromotionEvent.objects.filter(action=PromotionAction.ROLLBACK).count()


def _nightly(market: LiftMarket, capture: Callable[..., Any], *, first: int = 10) -> list[PerformanceReport]:
    """The degradation check on the evening of every session from ``first`` on, as beat runs it."""
    reports = []
    for day in market.sessions[first:]:
        with capture(execute=True):
            report = services.degradation_check(as_of=day, min_positives=MIN_POSITIVES)
        assert report is not None
        reports.append(report)
    return reports


def test_realised_figures_come_from_the_next_sessions_bars(
    two_versions: tuple[ModelVersion, ModelVersion],
    seed_window: Callable[..., SeededWindow],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    _, v2 = two_versions
    window = seed_window(v2, tp=50, fp=50, fn=50)  # F1 0.5 = the test F1
    with django_capture_on_commit_callbacks(execute=True):
        report = services.degradation_check(min_positives=MIN_POSITIVES, window_days=20)
    assert report is not None
    assert (report.tp, report.fp, report.fn) == (50, 50, 50)
    assert report.positives == 100
    assert report.rows == 20 * 50
    assert report.f1 == pytest.approx(window.f1) == pytest.approx(0.5)
    assert report.labelled_dates == 20
    assert (report.window_start, report.window_end) == (window.sessions[0], window.sessions[-2])
    assert report.as_of == window.sessions[-1]
    assert report.reference_f1 == 0.5
    assert report.relative_drop == pytest.approx(0.0)
    assert 0.0 <= report.precision_at_k <= 1.0


def test_the_lift_over_hit_today_is_measured_on_the_same_rows_and_a_healthy_model_is_left_alone(
    two_versions: tuple[ModelVersion, ModelVersion],
    lift_market: Callable[..., LiftMarket],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    v1, v2 = two_versions
    market = lift_market(v2, days=20, shadow=(v1,))
    reports = _nightly(market, django_capture_on_commit_callbacks)
    last = reports[-1]
    assert last.labelled_dates == 10
    assert last.pr_auc_lift == pytest.approx(last.model_pr_auc - last.naive_pr_auc)
    assert last.precision_at_k_lift == pytest.approx(last.precision_at_k - last.naive_precision_at_k)
    # The factory's test metrics: PR-AUC 0.4 vs 0.2 for "hit today", P@20 0.3 vs 0.1.
    assert (last.reference_pr_auc_lift, last.reference_precision_at_k_lift) == pytest.approx((0.2, 0.2))
    assert last.pr_auc_lift > 0.1
    assert last.precision_at_k_lift > 0.1
    assert {r.action for r in reports} == {DegradationAction.NONE}
    assert not any(r.lift_dropped for r in reports)
    assert Alert.objects.count() == 0
    assert _rollbacks() == 0


def test_an_injected_degradation_alerts_within_ten_sessions_and_rolls_back_to_the_shadow_scored_target(
    two_versions: tuple[ModelVersion, ModelVersion],
    lift_market: Callable[..., LiftMarket],
    django_capture_on_commit_callbacks: Callable[..., Any],
    mailoutbox: list[Any],
) -> None:
    v1, v2 = two_versions
    injected = range(10, 25)  # served scores are noise for 15 sessions; v1 is scored in shadow throughout
    market = lift_market(v2, days=30, bad=injected, shadow=(v1,))
    reports = _nightly(market, django_capture_on_commit_callbacks)
    acted = [r for r in reports if r.action != DegradationAction.NONE]
    assert acted, "the degradation was never caught"
    first = acted[0]
    sessions_after = market.sessions.index(first.as_of) - injected.start
    assert 1 <= sessions_after <= 10
    rollback = next(r for r in reports if r.action == DegradationAction.ROLLBACK)
    assert rollback.model_version == v2
    assert rollback.rolled_back_to == v1
    assert rollback.shadow["target"] == v1.label
    assert rollback.shadow["low"] > 0  # the bootstrap interval of v1 - v2 lies above zero
    assert rollback.shadow["shadow_days"] == rollback.labelled_dates
    v1.refresh_from_db()
    v2.refresh_from_db()
    assert (v1.status, v2.status) == (VersionStatus.PRODUCTION, VersionStatus.ARCHIVED)
    event = PromotionEvent.objects.get(action=PromotionAction.ROLLBACK)
    assert (event.model_version, event.replaced_version, event.actor) == (v1, v2, "system")
    assert "day-block interval" in event.reason
    alert = Alert.objects.get(kind=AlertKind.ROLLBACK)
    assert alert.severity == "critical"
    assert "a person must review it" in alert.message
    assert alert.context["shadow"]["target"] == v1.label
    assert len(mailoutbox) == len({a.dedupe_key for a in Alert.objects.all()})


def test_without_shadow_scores_a_degradation_only_alerts(
    two_versions: tuple[ModelVersion, ModelVersion],
    lift_market: Callable[..., LiftMarket],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    _, v2 = two_versions
    market = lift_market(v2, days=25, bad=range(10, 25))  # nothing scored in shadow
    reports = _nightly(market, django_capture_on_commit_callbacks)
    alerts = [r for r in reports if r.action == DegradationAction.ALERT]
    assert alerts
    assert "scored in shadow on 0 of the window's" in alerts[0].reason
    assert _rollbacks() == 0
    v2.refresh_from_db()
    assert v2.status == VersionStatus.PRODUCTION
    assert Alert.objects.get().kind == AlertKind.DEGRADATION


def test_a_version_that_came_back_through_a_rollback_is_not_rolled_back_again(
    db: None,
    lift_market: Callable[..., LiftMarket],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    # v0 -> v1 -> v2 promoted, then v2 rolled back to v1: the incident had its rollback; no chain to v0.
    v0, v1, v2 = (register_version(seed=s) for s in (10, 11, 12))
    for version in (v0, v1, v2):
        registry.model_version_promote(version=version, actor=None, reason="next model")
    registry.model_version_rollback(name=v2.name, actor=None, reason="v2 misbehaved")
    market = lift_market(v1, days=25, bad=range(10, 25), shadow=(v0,))
    reports = _nightly(market, django_capture_on_commit_callbacks)
    alerts = [r for r in reports if r.action == DegradationAction.ALERT]
    assert alerts
    assert "one automatic rollback per incident" in alerts[-1].reason
    assert _rollbacks() == 1  # only the manual one
    v1.refresh_from_db()
    assert v1.status == VersionStatus.PRODUCTION


def test_running_the_check_twice_rolls_back_once(
    two_versions: tuple[ModelVersion, ModelVersion],
    lift_market: Callable[..., LiftMarket],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    v1, v2 = two_versions
    market = lift_market(v2, days=30, bad=range(10, 30), shadow=(v1,))
    reports = _nightly(market, django_capture_on_commit_callbacks)
    rollback = next(r for r in reports if r.action == DegradationAction.ROLLBACK)
    with django_capture_on_commit_callbacks(execute=True):
        again = services.degradation_check(as_of=rollback.as_of, min_positives=MIN_POSITIVES)
    assert again is not None
    # The rerun judges the version now in production, which served no prediction in the window.
    assert again.model_version == v1
    assert again.action == DegradationAction.NONE
    assert _rollbacks() == 1
    assert Alert.objects.filter(kind=AlertKind.ROLLBACK).count() == 1


def test_no_previous_version_gives_an_alert_only(
    db: None,
    lift_market: Callable[..., LiftMarket],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    only = register_version(seed=3, f1=0.5)
    only = registry.model_version_promote(version=only, actor=None, reason="the first model")
    market = lift_market(only, days=25, bad=range(10, 25))
    reports = _nightly(market, django_capture_on_commit_callbacks)
    alert = next(r for r in reports if r.action == DegradationAction.ALERT)
    assert "no rollback target" in alert.reason
    assert _rollbacks() == 0
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
