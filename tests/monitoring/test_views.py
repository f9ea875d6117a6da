"""The staff dashboard: production model, today's batch, drift chart, realised-F1 trend, open alerts."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import plotly
import pytest
from django.urls import reverse
from django.utils import timezone

from common.choices import RunStatus
from marketdata.models import Instrument
from modelregistry import services as registry
from modelregistry.models import ModelVersion
from monitoring import services
from monitoring.choices import AlertKind, AlertSeverity
from monitoring.models import Alert, PerformanceReport
from predictions.models import BatchRun, FeatureSnapshot
from tests.factories import register_version
from tests.monitoring.conftest import REFERENCE, LiftMarket, SeededWindow, current_features


def test_dashboard_needs_a_staff_login(client: Any, db: None) -> None:
    response = client.get(reverse("staff:dashboard"))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def test_empty_dashboard_says_what_to_do(admin_client: Any) -> None:
    page = admin_client.get(reverse("staff:dashboard")).content.decode()
    assert "Promote a version in admin." in page
    assert "python manage.py check_drift" in page
    assert "No open alerts." in page
    assert "plotly.min.js" not in page  # no chart, no 4 MB script


def test_dashboard_shows_model_batch_drift_f1_trend_and_alerts(
    admin_client: Any,
    two_versions: tuple[ModelVersion, ModelVersion],
    seed_window: Callable[..., SeededWindow],
    settings: Any,
) -> None:
    _, v2 = two_versions
    settings.VCP_DEGRADATION_MIN_POSITIVES = 10_000  # keep v2 in production: this test is about display
    window = seed_window(v2, tp=47, fp=53, fn=53)
    services.degradation_check()
    BatchRun.objects.create(date=timezone.localdate(), status=RunStatus.SUCCEEDED, instruments=50, scored=50)
    Alert.objects.create(
        kind=AlertKind.DEGRADATION,
        severity=AlertSeverity.WARNING,
        message="upper-circuit v2 realised F1 0.470",
        dedupe_key="x",
        last_seen_at=timezone.now(),
    )

    page = admin_client.get(reverse("staff:dashboard")).content.decode()
    assert v2.label in page
    assert "test F1 0.500" in page
    assert "50 of 50 scored" in page
    assert "0.470" in page
    assert "ESTIMATE" in page
    assert "Estimated F1 ~" in page
    assert window.sessions[-1].isoformat() in page
    assert 'id="f1-chart"' in page
    assert "ESTIMATED F1 (no labels yet)" in page
    assert "upper-circuit v2 realised F1 0.470" in page
    assert f'src="/staff/assets/plotly.min.js?v={plotly.__version__}"' in page
    assert "cdn" not in page.lower()


def test_dashboard_drift_chart_lists_every_feature(admin_client: Any, db: None) -> None:
    version = registry.model_version_promote(
        version=register_version(reference=REFERENCE.to_dict()), actor=None, reason="drift display"
    )
    for i, row in enumerate(current_features(250, 1.0)):
        FeatureSnapshot.objects.create(
            instrument=Instrument.objects.create(symbol=f"D{i}"),
            date="2024-03-01",
            feature_set_hash=version.feature_set_hash,
            values=row.tolist(),
        )
    services.drift_check()
    response = admin_client.get(reverse("staff:dashboard"))
    page = response.content.decode()
    assert 'id="drift-chart"' in page
    # The chart's inline script carries the nonce the CSP header allows, or a browser blocks it.
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"])
    assert nonce is not None
    assert f'<script nonce="{nonce.group(1)}">' in page
    assert "<script>" not in page
    # One window at alert is not yet persistent: the card must not claim a retrain is needed.
    assert "Alert in this window" in page
    assert "Alert: retrain needed" not in page
    assert "no retrain needed" in page
    assert "noise limit (sample-size-aware)" in page
    for name in REFERENCE.names:
        assert f'"{name}"' in page


def test_plotly_js_is_served_from_the_installed_package(client: Any) -> None:
    response = client.get(reverse("staff:plotly_js"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert "immutable" in response["Cache-Control"]
    body = response.content.decode()
    assert len(body) > 1_000_000
    assert "plotly.js" in body[:2_000]


def test_run_check_now_queues_the_task(
    admin_client: Any,
    eager_celery: None,
    two_versions: tuple[ModelVersion, ModelVersion],
    seed_window: Callable[..., SeededWindow],
    django_capture_on_commit_callbacks: Callable[..., Any],
    settings: Any,
) -> None:
    settings.VCP_DEGRADATION_WINDOW_DAYS = 20  # the seeded window's labelled days
    seed_window(two_versions[1], tp=50, fp=50, fn=50)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("staff:run_check", args=["degradation"]))
    assert response.status_code == 302
    assert PerformanceReport.objects.get().f1 == pytest.approx(0.5)


def test_run_check_refuses_get_and_unknown_checks(admin_client: Any) -> None:
    assert admin_client.get(reverse("staff:run_check", args=["drift"])).status_code == 405
    assert admin_client.post(reverse("staff:run_check", args=["nonsense"])).status_code == 404


def test_dashboard_shows_the_lift_the_shadow_comparison_why_alerts_fired_and_its_words(
    admin_client: Any,
    two_versions: tuple[ModelVersion, ModelVersion],
    lift_market: Callable[..., LiftMarket],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    v1, v2 = two_versions
    market = lift_market(v2, days=30, bad=range(10, 30), shadow=(v1,))
    for day in market.sessions[10:]:
        with django_capture_on_commit_callbacks(execute=True):
            report = services.degradation_check(as_of=day, min_positives=50)
        assert report is not None
        if report.action != "none":  # the evening the degradation was caught (and v2 rolled back)
            break
    page = admin_client.get(reverse("staff:dashboard")).content.decode()
    assert 'id="card-lift"' in page
    assert 'Lift over "hit today"' in page
    assert f"PR-AUC, test {report.reference_pr_auc_lift:.3f}" in page
    assert f"model {report.model_pr_auc:.3f} vs naive rule {report.naive_pr_auc:.3f}" in page
    # The shadow comparison: the target, its coverage and the bootstrap interval on the same rows.
    assert f"The rollback target <strong>{v1.label}</strong> is scored every evening in shadow" in page
    assert f"{report.shadow['shadow_days']} of {report.shadow['window_days']} days" in page
    assert "95% day-block bootstrap interval" in page
    # Why the alert fired, in its own column.
    alert = Alert.objects.get(kind=AlertKind.ROLLBACK)
    assert "why it fired" in page
    assert "in 3 of the last 5 checks" in alert.context["why"]
    assert f"{v1.label} PR-AUC" in alert.context["why"]
    assert (
        '<td class="why">lift over &#x27;hit today&#x27; below 50% of its test value in 3 of the last 5 checks' in page
    )
    # The words, explained on the page.
    assert '<dl id="glossary">' in page
    assert "<dt>warn</dt>" in page
    assert "a warn never raises an alert" in page
    assert "<dt>alert (drift)</dt>" in page
    assert "at alert in 2 of the last 3 windows" in page
    assert "<dt>alert (degradation)</dt>" in page
    assert "below 50% of its test lift in 3 of the last 5 checks" in page
