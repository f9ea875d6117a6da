from __future__ import annotations

from collections.abc import Callable
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from modelregistry.models import ModelVersion
from tests.monitoring.conftest import SeededWindow


def test_check_degradation_command_reports_figures_and_the_estimate(
    two_versions: tuple[ModelVersion, ModelVersion], seed_window: Callable[..., SeededWindow]
) -> None:
    window = seed_window(two_versions[1], tp=47, fp=53, fn=53)
    out = StringIO()
    call_command("check_degradation", "--min-positives", "50", "--window-days", "20", stdout=out)
    text = out.getvalue()
    assert "realised F1 0.470" in text
    assert "vs test F1 0.500" in text
    assert f"ESTIMATE for {window.sessions[-1]}" in text
    assert "action: alert" in text


def test_check_degradation_command_rollback_names_the_target(
    two_versions: tuple[ModelVersion, ModelVersion], seed_window: Callable[..., SeededWindow]
) -> None:
    seed_window(two_versions[1], tp=40, fp=60, fn=60)
    out = StringIO()
    call_command("check_degradation", "--min-positives", "50", stdout=out)
    assert f"rolled back to {two_versions[0].label}" in out.getvalue()


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
