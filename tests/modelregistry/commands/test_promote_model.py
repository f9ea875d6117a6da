from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command

from modelregistry.choices import VersionStatus
from modelregistry.models import ModelVersion

pytestmark = pytest.mark.django_db


def test_train_model_then_promote_best_picks_the_higher_pr_auc(market: tuple[dt.date, dt.date]) -> None:
    first, last = market
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
    best = max(ModelVersion.objects.all(), key=lambda v: v.metric("pr_auc") or 0)
    call_command("promote_model", "--best", "--reason", "demo", stdout=StringIO())
    assert ModelVersion.objects.get(status=VersionStatus.PRODUCTION).pk == best.pk
