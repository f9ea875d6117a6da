from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from features.spec import FEATURE_NAMES
from modelregistry.models import ModelVersion
from monitoring.models import DriftReport
from tests.monitoring.conftest import current_features


def test_check_drift_command_prints_the_worst_features(snapshots: Callable[..., list[dt.date]], settings: Any) -> None:
    settings.VCP_DRIFT_PERSIST_K = 1
    sessions = snapshots(current_features(300, 1.0))
    out = StringIO()
    call_command("check_drift", "--date", sessions[-1].isoformat(), "--window-days", "3", stdout=out)
    text = out.getvalue()
    assert "ALERT" in text
    assert "retrain needed" in text
    assert text.splitlines()[1].split()[0] == FEATURE_NAMES[0]
    assert DriftReport.objects.get().date == sessions[-1]


def test_check_drift_command_explains_what_is_missing(production: ModelVersion) -> None:
    with pytest.raises(CommandError, match="score_universe"):
        call_command("check_drift")
    with pytest.raises(CommandError, match="at least 1"):
        call_command("check_drift", "--window-days", "0")


def test_check_drift_command_without_a_production_model(db: None) -> None:
    out = StringIO()
    call_command("check_drift", stdout=out)
    assert "nothing to check" in out.getvalue()
