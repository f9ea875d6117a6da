"""replay_monitoring: the nightly checks over history, deciding exactly as the jobs do, writing nothing."""

from __future__ import annotations

import math
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from features import spec
from modelregistry.models import ModelVersion, PromotionEvent
from monitoring import services
from monitoring.models import Alert, DriftReport, PerformanceReport
from monitoring.replay import replay_monitoring
from predictions.services import batch_run_inline
from tests.conftest import promote
from tests.factories import register_version
from tests.monitoring.conftest import REFERENCE
from tests.predictions.conftest import Market, load_market


@pytest.fixture
def small_windows(settings: Any) -> None:
    # Short windows so a few weeks of a 24-stock market hold several of each.
    settings.VCP_DRIFT_WINDOW_DAYS = 3
    settings.VCP_DRIFT_PERSIST_K, settings.VCP_DRIFT_PERSIST_N = 2, 3
    settings.VCP_DRIFT_MIN_ROWS = 10
    settings.VCP_DEGRADATION_WINDOW_DAYS = 4
    settings.VCP_DEGRADATION_PERSIST_K, settings.VCP_DEGRADATION_PERSIST_N = 2, 3
    settings.VCP_DEGRADATION_MIN_POSITIVES = 0
    settings.VCP_ALERT_EMAILS = []


@pytest.fixture
def nightly(db: None, small_windows: None) -> tuple[Market, ModelVersion, ModelVersion]:
    """A synthetic market; v1 then v2 promoted (real feature set, a frozen reference on seasoned rows)."""
    market = load_market(stocks=24)
    reference = {**REFERENCE.to_dict(), "population": "finite:dist_high252"}
    versions = []
    for seed in (1, 2):
        version = register_version(seed=seed)
        ModelVersion.objects.filter(pk=version.pk).update(feature_set_hash=spec.FEATURE_SET_HASH, reference=reference)
        versions.append(promote(ModelVersion.objects.get(pk=version.pk)))
    return market, versions[0], versions[1]


def _same(a: float | None, b: float) -> bool:
    return (a is None and math.isnan(b)) or (a is not None and a == pytest.approx(b))


def test_the_replay_decides_each_evening_as_the_nightly_jobs_did(
    nightly: tuple[Market, ModelVersion, ModelVersion], django_capture_on_commit_callbacks: Any
) -> None:
    market, _, v2 = nightly
    evenings = market.dates[-20:]
    start = market.dates[-8]
    v2_before = ModelVersion.objects.get(pk=v2.pk)  # the replay starts from the state before any rollback
    # The real evening, in beat's order: degradation (18:40), the batch with shadow scoring (18:45), drift.
    for day in evenings:
        with django_capture_on_commit_callbacks(execute=True):
            services.degradation_check(as_of=day)
            batch_run_inline(date=day)
            services.drift_check(date=day)
    replay = replay_monitoring(start=start, end=market.last, production=v2_before)
    assert [d.date for d in replay.days] == market.dates[-8:]
    for day in replay.days:
        drift = DriftReport.objects.get(date=day.date)
        assert drift.alerting_features == list(day.alerting), day.date
        assert drift.retrain_needed == day.retrain_needed, day.date
        judged = PerformanceReport.objects.get(as_of=day.date)
        assert judged.action == day.action, (day.date, judged.reason, day.reason)
        assert _same(judged.pr_auc_lift, day.pr_auc_lift), day.date
        assert _same(judged.precision_at_k_lift, day.precision_at_k_lift), day.date
        assert judged.lift_dropped == day.dropped, day.date


def test_the_command_prints_a_day_by_day_table_and_writes_nothing(
    nightly: tuple[Market, ModelVersion, ModelVersion],
) -> None:
    market, _, v2 = nightly
    counts = (DriftReport.objects.count(), PerformanceReport.objects.count(), Alert.objects.count())
    events = PromotionEvent.objects.count()
    out = StringIO()
    call_command(
        "replay_monitoring",
        "--start",
        market.dates[-6].isoformat(),
        "--end",
        market.last.isoformat(),
        "--inject-start",
        market.dates[-4].isoformat(),
        "--inject-sessions",
        "3",
        stdout=out,
    )
    lines = out.getvalue().splitlines()
    assert lines[0].split()[:4] == ["date", "served", "drift", "retrain"]
    table = [line for line in lines[1:] if line[:4].isdigit()]
    assert [line.split()[0] for line in table] == [d.isoformat() for d in market.dates[-6:]]
    assert any(f"{v2.label}*" in line for line in table)  # the injected evenings are marked
    summary = "\n".join(lines)
    assert "sessions replayed: 6" in summary
    assert "retrain needed:" in summary
    assert "automatic rollbacks:" in summary
    assert f"injection from {market.dates[-4]} for 3 sessions" in summary
    # Nothing written, nothing rolled back.
    assert (DriftReport.objects.count(), PerformanceReport.objects.count(), Alert.objects.count()) == counts
    assert PromotionEvent.objects.count() == events
    assert ModelVersion.objects.get(pk=v2.pk).status == "production"


@pytest.mark.usefixtures("nightly")
def test_the_command_explains_bad_input() -> None:
    with pytest.raises(CommandError, match="is after --end"):
        call_command("replay_monitoring", "--start", "2024-08-02", "--end", "2024-08-01")
    with pytest.raises(CommandError, match="has no version 99"):
        call_command("replay_monitoring", "--start", "2024-07-01", "--end", "2024-08-01", "--model-version", "99")
    with pytest.raises(CommandError, match="no stored bars"):
        call_command("replay_monitoring", "--start", "2030-01-01", "--end", "2030-01-31")


@pytest.mark.django_db
def test_the_command_without_a_production_model() -> None:
    with pytest.raises(CommandError, match="is in production: pass --model-version"):
        call_command("replay_monitoring", "--start", "2024-07-01", "--end", "2024-08-01")
