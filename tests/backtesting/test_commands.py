from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from backtesting.models import BacktestRun, ComparisonRun, WalkForwardRun
from common.choices import RunStatus
from marketdata.synthetic import SyntheticMarket
from tests.factories import register_version

pytestmark = pytest.mark.django_db

FAST = ["--rounds", "10", "--valid-dates", "20"]


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


@pytest.mark.django_db(transaction=True)  # on_commit fires as in production: the command waits for the run
@pytest.mark.slow
def test_walk_forward_command_runs_the_folds_and_prints_the_summary(
    market: SyntheticMarket, eager_celery: None
) -> None:
    out = StringIO()
    call_command(
        "walk_forward",
        "--algorithm", "lightgbm",
        "--start", "2021-09-01",
        "--folds", "2",
        "--train-days", "120",
        "--test-days", "20",
        *FAST,
        "--timeout", "120",
        stdout=out,
    )  # fmt: skip
    text = out.getvalue()
    run = WalkForwardRun.objects.get()
    assert run.status == RunStatus.SUCCEEDED
    assert run.folds == 2
    assert run.fold_rows.count() == 2
    assert "fold  0 test" in text
    assert "fold  1 test" in text
    assert "Mean F1" in text
    assert "consistency" in text
    assert f"Walk-forward {run.pk} succeeded" in text
    assert "Trading the out-of-sample signals" in text


def test_walk_forward_command_refuses_a_strategy_that_never_signals() -> None:
    with pytest.raises(CommandError, match="--top-k"):
        call_command("walk_forward", "--algorithm", "lightgbm", "--start", "2021-09-01", "--ignore-threshold")


@pytest.mark.slow
def test_compare_models_prints_the_side_by_side_table_and_the_verdicts(market: SyntheticMarket) -> None:
    out = StringIO()
    call_command(
        "compare_models",
        "--feature-sets", "all", "vcp_only",
        "--start", "2021-10-01",
        "--end", "2021-11-30",
        "--train-days", "150",
        "--n-boot", "50",
        *FAST,
        stdout=out,
    )  # fmt: skip
    text = out.getvalue()
    run = ComparisonRun.objects.get()
    assert run.label_a == "lightgbm / all features"
    assert run.label_b == "lightgbm / vcp_only features"
    assert "PR-AUC" in text
    assert "McNemar:" in text
    assert "Bootstrap:" in text
    a, b = register_version(seed=0), register_version(seed=1)
    call_command("compare_models", "--versions", str(a.pk), str(b.pk), "--start", "2021-10-01", "--end", "2021-11-30",
                 "--n-boot", "20", stdout=out)  # fmt: skip
    assert ComparisonRun.objects.count() == 2
    with pytest.raises(CommandError, match="list_models"):
        call_command("compare_models", "--versions", str(a.pk), "999", "--start", "2021-10-01", "--end", "2021-11-30")
