from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from backtesting import services, tasks
from backtesting.choices import BacktestSource, ComparisonKind
from backtesting.engine import BacktestConfig
from backtesting.fold_training import FoldConfig
from backtesting.models import BacktestRun, ComparisonRun, WalkForwardFold, WalkForwardRun
from backtesting.services import data as service_data
from backtesting.services import walk_forwards
from common.choices import RunStatus
from marketdata.selectors import trading_dates
from marketdata.synthetic import SyntheticMarket
from modelregistry.models import ModelVersion
from tests.factories import register_version

pytestmark = pytest.mark.django_db

DESIGN = services.WalkForwardDesign(start=dt.date(2021, 9, 1), folds=3, train_days=120, test_days=20)
FAST = FoldConfig(rounds=15, valid_dates=20)


class Counter:
    """Wraps a function and counts its calls."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn, self.calls = fn, 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self.fn(*args, **kwargs)


@pytest.fixture
def run_walk_forward(
    market: SyntheticMarket, eager_celery: None, django_capture_on_commit_callbacks: Any
) -> Callable[..., WalkForwardRun]:
    def run(**kwargs: Any) -> WalkForwardRun:
        options = {"design": DESIGN, "fold_config": FAST, **kwargs}
        with django_capture_on_commit_callbacks(execute=True):
            created = services.walk_forward_create(**options)
            tasks.walk_forward_dispatch(run_id=created.pk)
        created.refresh_from_db()
        return created

    return run


def test_walk_forward_trains_each_fold_once_on_features_computed_once(
    run_walk_forward: Callable[..., WalkForwardRun], monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> None:
    features = Counter(service_data.panel_dataset)
    folds = Counter(walk_forwards.train_fold)
    monkeypatch.setattr(service_data, "panel_dataset", features)
    monkeypatch.setattr(walk_forwards, "train_fold", folds)
    run = run_walk_forward()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert (features.calls, folds.calls) == (1, 3)
    assert len(list((data_dir / "backtesting" / "features").iterdir())) == 1
    rows = list(run.fold_rows.order_by("index"))
    expected = DESIGN.make(trading_dates())
    assert [(r.train_start, r.train_end, r.test_start, r.test_end) for r in rows] == [
        (f.train_start, f.train_end, f.test_start, f.test_end) for f in expected
    ]
    for row in rows:
        assert row.status == RunStatus.SUCCEEDED
        assert row.train_start < row.valid_start <= row.train_end < row.test_start
        assert row.f1 == row.metrics["all"]["model"]["f1"]
        assert row.hit_today_pr_auc == row.metrics["all"]["baselines"]["hit_today"]["pr_auc"]
        assert Path(row.predictions).is_file()
    f1 = np.array([r.f1 for r in rows])
    assert run.mean_f1 == pytest.approx(f1.mean())
    assert run.std_f1 == pytest.approx(f1.std(ddof=1))
    assert run.consistency == pytest.approx(float(np.mean(f1 >= 0.65)))
    assert run.summary["f1"]["trend"]["n_folds"] == 3
    assert run.metrics["overall"]["all"]["model"]["rows"] == sum(r.rows["test"] for r in rows)
    assert {"read_bars", "features", "fold_seconds_sum", "folds_wall", "simulate", "total"} <= set(run.timings)
    backtest = run.backtest
    assert backtest.source == BacktestSource.WALK_FORWARD
    assert (backtest.start, backtest.end) == (rows[0].test_start, rows[-1].test_end)
    assert backtest.status == RunStatus.SUCCEEDED
    assert backtest.n_trades == len(backtest.trades["rows"])
    assert backtest.series["dates"][0] == str(rows[0].test_start)
    assert backtest.risk["trials"] == 1
    assert backtest.metrics == run.metrics


@pytest.mark.slow
def test_rerunning_a_walk_forward_updates_its_rows_and_reuses_the_cached_features(
    run_walk_forward: Callable[..., WalkForwardRun], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = run_walk_forward()
    features = Counter(service_data.panel_dataset)
    monkeypatch.setattr(service_data, "panel_dataset", features)
    again = run_walk_forward()
    assert again.pk == first.pk
    assert again.runs == 2
    assert features.calls == 0
    assert WalkForwardRun.objects.count() == 1
    assert WalkForwardFold.objects.filter(run=again).count() == 3
    assert BacktestRun.objects.count() == 1
    assert again.mean_f1 == pytest.approx(first.mean_f1)  # same data, same seed, same models
    assert again.backtest.runs == 2
    assert again.backtest.risk["trials"] == 1  # the same configuration again is not another trial
    top_k = run_walk_forward(strategy=BacktestConfig(threshold=None, top_k=2))  # ignores the fold thresholds
    assert top_k.pk != first.pk
    assert top_k.backtest.n_trades > 0
    assert top_k.backtest.risk["trials"] == 2  # another strategy on the same algorithm and feature set


@pytest.mark.slow
def test_a_failed_fold_is_recorded_and_the_other_folds_still_count(
    run_walk_forward: Callable[..., WalkForwardRun], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = walk_forwards.train_fold

    def flaky(dataset: Any, fold: Any, **kwargs: Any) -> Any:
        if fold.index == 1:
            raise RuntimeError("out of memory")
        return real(dataset, fold, **kwargs)

    monkeypatch.setattr(walk_forwards, "train_fold", flaky)
    run = run_walk_forward()
    assert run.status == RunStatus.FAILED
    assert "fold 1: RuntimeError: out of memory" in run.error
    statuses = dict(run.fold_rows.values_list("index", "status"))
    assert statuses == {0: RunStatus.SUCCEEDED, 1: RunStatus.FAILED, 2: RunStatus.SUCCEEDED}
    assert run.summary["folds_failed"] == [1]
    assert run.summary["f1"]["consistency"] is not None
    assert run.backtest.status == RunStatus.SUCCEEDED  # the months of the other folds are still traded


def test_a_walk_forward_without_enough_history_fails_with_the_reason(
    run_walk_forward: Callable[..., WalkForwardRun],
) -> None:
    run = run_walk_forward(design=services.WalkForwardDesign(start=dt.date(2021, 2, 1), folds=2, train_days=120))
    assert run.status == RunStatus.FAILED
    assert "first training window" in run.error
    assert not run.fold_rows.exists()


@pytest.mark.slow
def test_a_run_in_progress_is_not_started_twice(
    run_walk_forward: Callable[..., WalkForwardRun], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        pending = services.walk_forward_create(design=DESIGN, fold_config=FAST)  # claimed, not run yet
    with pytest.raises(services.RunInProgressError, match="pending"):
        services.walk_forward_create(design=DESIGN, fold_config=FAST)
    forced = run_walk_forward(force=True)
    assert forced.pk == pending.pk
    assert forced.status == RunStatus.SUCCEEDED
    assert forced.runs == 2


@pytest.fixture
def version(market: SyntheticMarket) -> ModelVersion:
    return register_version(threshold=0.3)


def test_backtest_of_a_version_reports_periods_baselines_and_trading(version: ModelVersion) -> None:
    strategy = BacktestConfig(threshold=None, top_k=3)
    run = services.backtest_run(version=version, start=dt.date(2021, 7, 1), end=dt.date(2022, 3, 31), strategy=strategy)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert [p["period"] for p in run.metrics["year"]] == ["2021", "2022"]
    assert [p["period"] for p in run.metrics["quarter"]] == ["2021Q3", "2021Q4", "2022Q1"]
    overall = run.metrics["overall"]
    assert overall["all"]["model"]["rows"] == run.counts["rows"]
    assert set(overall["all"]["baselines"]) == {"hit_today", "momentum_top_k"}
    assert overall["new_circuits"]["model"]["rows"] < run.counts["rows"]
    assert run.series["dates"][0] >= "2021-07-01"
    assert run.series["dates"][-1] <= "2022-03-31"
    assert run.n_trades == run.counts["engine"]["entries"] > 0
    assert {"cagr", "sharpe", "sortino", "max_drawdown", "calmar", "trades"} <= set(run.risk["strategy"])
    assert run.risk["benchmark_members"] > 0
    assert run.risk["trials"] == 1
    assert run.feature_importance
    assert {"load_model", "read_bars", "features", "score", "simulate", "total"} <= set(run.timings)


@pytest.mark.slow
def test_trials_of_the_deflated_sharpe_are_the_recorded_configurations(version: ModelVersion) -> None:
    window = {"version": version, "start": dt.date(2021, 10, 1), "end": dt.date(2022, 1, 31)}
    first = services.backtest_run(**window, strategy=BacktestConfig(threshold=None, top_k=3))
    again = services.backtest_run(**window, strategy=BacktestConfig(threshold=None, top_k=3))
    assert again.pk == first.pk
    assert again.runs == 2
    assert again.risk["trials"] == 1  # running the same configuration again is not another trial
    other = services.backtest_run(**window, strategy=BacktestConfig(threshold=None, top_k=5))
    assert other.risk["trials"] == 2
    assert other.risk["deflated_sharpe"]["n_trials"] == 2
    assert BacktestRun.objects.count() == 2


@pytest.mark.slow
def test_a_backtest_that_cannot_run_records_why(version: ModelVersion, settings: Any) -> None:
    settings.VCP_ARTIFACT_ROOT = Path(settings.VCP_ARTIFACT_ROOT) / "elsewhere"
    with pytest.raises(services.BacktestError, match="no stored model version"):
        services.backtest_run(version=version, start=dt.date(2021, 10, 1), end=dt.date(2021, 12, 31))
    run = BacktestRun.objects.get()
    assert run.status == RunStatus.FAILED
    assert "no stored model version" in run.error
    assert "load_model" in run.timings
    with pytest.raises(services.BacktestError, match="after end"):
        services.backtest_run(version=version, start=dt.date(2022, 1, 1), end=dt.date(2021, 1, 1))


def test_two_versions_are_compared_on_the_same_stock_days(market: SyntheticMarket) -> None:
    a, b = register_version(seed=0), register_version(seed=1)
    run = services.comparison_run(
        a=services.Contender(version=a),
        b=services.Contender(version=b),
        start=dt.date(2021, 10, 1),
        end=dt.date(2022, 1, 31),
        n_boot=50,
    )
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.kind == ComparisonKind.VERSIONS
    assert run.metrics["a"]["all"]["model"]["rows"] == run.metrics["b"]["all"]["model"]["rows"] == run.counts["rows"]
    assert sum(map(sum, run.mcnemar["table"])) == run.counts["rows"]
    assert run.bootstrap["low"] <= run.bootstrap["difference"] <= run.bootstrap["high"]
    assert run.bootstrap["n_days"] == run.counts["days"]
    assert run.mcnemar["verdict"] in run.verdict


@pytest.mark.parametrize(
    ("a", "b", "kind"),
    [
        (("xgboost", "all"), ("lightgbm", "all"), ComparisonKind.ALGORITHMS),
        pytest.param(
            ("lightgbm", "all"),
            ("lightgbm", "no_circuit_history"),
            ComparisonKind.FEATURE_SETS,
            marks=pytest.mark.slow,
        ),
    ],
)
def test_trained_contenders_share_the_training_window_and_the_test_days(
    market: SyntheticMarket, a: tuple[str, str], b: tuple[str, str], kind: str
) -> None:
    run = services.comparison_run(
        a=services.Contender(algorithm=a[0], feature_set=a[1]),
        b=services.Contender(algorithm=b[0], feature_set=b[1]),
        start=dt.date(2021, 10, 1),
        end=dt.date(2021, 11, 30),
        train_days=150,
        fold_config=FAST,
        n_boot=50,
    )
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.kind == kind
    a_rows = run.metrics["a"]["all"]["model"]["rows"]
    assert a_rows == run.metrics["b"]["all"]["model"]["rows"] == run.counts["rows"]
    assert run.metrics["a"]["all"]["baselines"]["hit_today"] == run.metrics["b"]["all"]["baselines"]["hit_today"]
    assert ComparisonRun.objects.count() == 1
    with pytest.raises(services.BacktestError, match="registered versions, or two"):
        services.comparison_run(
            a=services.Contender(version=register_version()),
            b=services.Contender(algorithm="lightgbm"),
            start=dt.date(2021, 10, 1),
            end=dt.date(2021, 11, 30),
        )
