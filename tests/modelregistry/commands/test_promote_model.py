from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from modelregistry.choices import PromotionAction, VersionStatus
from modelregistry.models import ModelVersion, PromotionEvent

pytestmark = pytest.mark.django_db


def _train_both(first: dt.date, last: dt.date) -> None:
    for algorithm in ("lightgbm", "xgboost"):
        call_command(
            "train_model",
            "--algorithm",
            algorithm,
            "--start",
            str(first),
            "--end",
            str(last),
            "--rounds",
            "30",
            "--no-progress",
            stdout=StringIO(),
        )


def test_promote_best_picks_the_higher_pr_auc_and_promotes_it_through_the_gate(market: tuple[dt.date, dt.date]) -> None:
    _train_both(*market)
    best = max(ModelVersion.objects.all(), key=lambda v: v.metric("pr_auc") or 0)
    out = StringIO()
    call_command("promote_model", "--best", "--reason", "demo", stdout=out)
    assert ModelVersion.objects.get(status=VersionStatus.PRODUCTION).pk == best.pk
    assert "Gate passed on 60 sessions" in out.getvalue()
    event = PromotionEvent.objects.get(action=PromotionAction.PROMOTE)
    assert "lift" in event.reason
    assert "day-block interval" in event.reason


def test_promote_best_records_why_not_when_the_gate_refuses(market: tuple[dt.date, dt.date]) -> None:
    _train_both(*market)
    with pytest.raises(CommandError, match=r"only 10 labelled sessions .* the gate needs at least 20"):
        call_command("promote_model", "--best", "--sessions", "10", "--reason", "monthly", stdout=StringIO())
    assert not ModelVersion.objects.filter(status=VersionStatus.PRODUCTION).exists()
    event = PromotionEvent.objects.get(action=PromotionAction.REFUSE)
    assert event.from_status == event.to_status == VersionStatus.CANDIDATE
    assert event.reason.startswith("monthly: Not promoted")
    assert event.metrics_snapshot["gate"]["sessions"] == 10
    assert event.metrics_snapshot["gate"]["passed"] is False
