from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from backtesting.models import BacktestRun
from common.choices import RunStatus
from marketdata.synthetic import SyntheticMarket
from tests.factories import register_version

pytestmark = pytest.mark.django_db


@pytest.mark.slow
def test_run_backtest_prints_periods_and_trading_and_writes_the_report(market: SyntheticMarket, tmp_path: Path) -> None:
    version = register_version()
    out = StringIO()
    report = tmp_path / "reports" / "backtest.html"
    call_command(
        "run_backtest",
        "--model-version", str(version.pk),
        "--start", "2021-10-01",
        "--end", "2022-01-31",
        "--top-k", "3",
        "--threshold", "0.0",
        "--report", str(report),
        stdout=out,
    )  # fmt: skip
    text = out.getvalue()
    run = BacktestRun.objects.get()
    assert run.status == RunStatus.SUCCEEDED
    assert f"Backtest {run.pk} of {version.label}" in text
    assert "2021: F1" in text
    assert "2022: F1" in text
    assert "hit today" in text
    assert "buy and hold" in text
    assert report.read_text().startswith("<!doctype html>")
    assert json.loads(report.with_suffix(".json").read_text())["backtest"]["id"] == run.pk


def test_run_backtest_explains_what_went_wrong(market: SyntheticMarket) -> None:
    with pytest.raises(CommandError, match="list_models"):
        call_command("run_backtest", "--model-version", "999", "--start", "2021-10-01", "--end", "2021-12-31")
    version = register_version()
    with pytest.raises(CommandError, match="after end"):
        call_command("run_backtest", "--model-version", str(version.pk), "--start", "2022-01-01", "--end", "2021-12-31")
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("run_backtest", "--model-version", str(version.pk), "--start", "01/10/2021", "--end", "x")
