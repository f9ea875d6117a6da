from __future__ import annotations

from collections.abc import Callable
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from modelregistry.models import ModelVersion
from tests.monitoring.conftest import LiftMarket, SeededWindow


def test_check_degradation_command_reports_figures_lift_and_the_estimate(
    two_versions: tuple[ModelVersion, ModelVersion], seed_window: Callable[..., SeededWindow]
) -> None:
    window = seed_window(two_versions[1], tp=47, fp=53, fn=53)
    out = StringIO()
    call_command("check_degradation", "--min-positives", "50", "--window-days", "20", stdout=out)
    text = out.getvalue()
    assert "realised F1 0.470" in text
    assert "vs test F1 0.500" in text
    assert "lift over 'hit today': PR-AUC" in text
    assert "(test 0.200)" in text
    assert f"ESTIMATE for {window.sessions[-1]}" in text
    assert "action: none" in text  # one evening's drop is never an alert: it must persist


def test_check_degradation_command_rollback_names_the_target(
    two_versions: tuple[ModelVersion, ModelVersion], lift_market: Callable[..., LiftMarket]
) -> None:
    v1, v2 = two_versions
    market = lift_market(v2, days=30, bad=range(10, 30), shadow=(v1,))
    text = ""
    for day in market.sessions[10:]:
        out = StringIO()
        call_command("check_degradation", "--min-positives", "50", "--date", day.isoformat(), stdout=out)
        text += out.getvalue()
        if "rolled back to" in text:
            break
    assert f"rolled back to {v1.label}" in text
    assert f"shadow {v1.label} scored on 10 of 10 days" in text


@pytest.mark.django_db
def test_check_degradation_command_errors_are_command_errors() -> None:
    out = StringIO()
    call_command("check_degradation", stdout=out)
    assert "nothing to check" in out.getvalue()
    with pytest.raises(CommandError, match="at least 1"):
        call_command("check_degradation", "--window-days", "0")


def test_check_degradation_command_without_bars(two_versions: tuple[ModelVersion, ModelVersion]) -> None:
    with pytest.raises(CommandError, match="ingest bhavcopy"):
        call_command("check_degradation", "--date", "2024-01-25")
