"""Two models on the same test days: side-by-side metrics beside the naive rules, McNemar's test on
their decisions and a day-block bootstrap interval on the PR-AUC difference."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
from django.conf import settings

from backtesting.choices import ComparisonKind
from backtesting.feature_sets import DEFAULT_FEATURE_SET, select_features
from backtesting.fold_training import FoldConfig, train_fold
from backtesting.jsonify import jsonable
from backtesting.models import ComparisonRun
from backtesting.periods import evaluate_rows
from backtesting.services.data import date_index, date_span, features_cached, panel_for, scored_rows
from backtesting.services.records import BacktestError, Stages, run_claim, run_fail_and_raise, run_finish
from backtesting.services.walk_forwards import WalkForwardDesign
from backtesting.stats import mcnemar_compare
from common.services import run_start
from marketdata.selectors import trading_dates
from modelregistry import artifacts
from modelregistry.datasets import panel_dataset
from modelregistry.models import ModelVersion
from modelregistry.runtime import NativeScorer
from modelregistry.significance import pr_auc_difference_ci


@dataclass(frozen=True)
class Contender:
    """One side of a comparison: a registered version, or an algorithm and feature set to train."""

    version: ModelVersion | None = None
    algorithm: str | None = None
    feature_set: str = DEFAULT_FEATURE_SET

    @property
    def label(self) -> str:
        if self.version is not None:
            return f"{self.version.label} ({self.version.algorithm})"
        return f"{self.algorithm} / {self.feature_set} features"

    def to_dict(self) -> dict[str, Any]:
        if self.version is not None:
            return {"version": self.version.pk, "label": self.version.label}
        return {"algorithm": self.algorithm, "feature_set": self.feature_set}


def comparison_create(
    *,
    a: Contender,
    b: Contender,
    start: dt.date,
    end: dt.date,
    train_days: int = 365,
    fold_config: FoldConfig | None = None,
    n_boot: int = 1000,
    exchange: str | None = None,
    force: bool = False,
) -> ComparisonRun:
    """Claim the row (pending) of a comparison of two models on the same test days ``[start, end]``.

    Registered versions are scored as they are. Algorithms and feature sets are each trained on the
    ``train_days`` before ``start`` (purged, threshold and calibration from its tail, as a
    walk-forward fold) with the same ``fold_config`` otherwise.
    """
    if (a.version is None) != (b.version is None):
        raise BacktestError("compare two registered versions, or two algorithm/feature-set configurations")
    if start > end:
        raise BacktestError(f"start {start} is after end {end}")
    if a.version is not None:
        kind = ComparisonKind.VERSIONS
    elif a.algorithm != b.algorithm:
        kind = ComparisonKind.ALGORITHMS
    else:
        kind = ComparisonKind.FEATURE_SETS
    fc = fold_config or FoldConfig()
    for side in (a, b):
        if side.version is None:
            # Refuses an unknown algorithm or feature set before anything is recorded.
            replace(fc, algorithm=side.algorithm, feature_set=side.feature_set)  # type: ignore[arg-type]
    config = {
        "kind": kind,
        "a": a.to_dict(),
        "b": b.to_dict(),
        "start": start,
        "end": end,
        "train_days": train_days,
        "fold": fc.to_dict(),
        "n_boot": n_boot,
        "exchange": exchange,
    }
    return run_claim(
        ComparisonRun,
        config=config,
        fields={
            "kind": kind,
            "label_a": a.label,
            "label_b": b.label,
            "version_a": a.version,
            "version_b": b.version,
            "start": start,
            "end": end,
        },
        force=force,
    )


def comparison_run(**options: Any) -> ComparisonRun:
    """Claim and run a comparison now, in this process (``comparison_create``'s options)."""
    return comparison_execute(run_id=comparison_create(**options).pk)


@dataclass(frozen=True)
class _Scored:
    probability: npt.NDArray[np.float64]
    threshold: float
    metrics: dict[str, Any]


@dataclass(frozen=True)
class _TestRows:
    """The compared test rows (R,): labels and the day of each row."""

    y: npt.NDArray[np.float64]
    date_idx: npt.NDArray[np.int64]

    @property
    def positives(self) -> int:
        return int(self.y.sum())


def _score_versions(run: ComparisonRun, stages: Stages) -> tuple[_TestRows, _Scored, _Scored]:
    versions = [v for v in (run.version_a, run.version_b) if v is not None]
    if len(versions) != 2:
        raise BacktestError("a version comparison needs both versions")
    horizons = {v.horizon for v in versions}
    if len(horizons) != 1:
        raise BacktestError(f"the versions predict different horizons {sorted(horizons)}: not the same label")
    horizon = horizons.pop()
    with stages("read_bars"):
        panel = panel_for(first=run.start, last=run.end, horizon=horizon, exchange=run.config.get("exchange"))
    with stages("features"):
        data = panel_dataset(panel, horizon=horizon)
        lo, hi = date_span(panel.dates, run.start, run.end)
        rows = data.dataset.take((data.dataset.date_idx >= lo) & (data.dataset.date_idx <= hi))
    if len(rows) == 0 or rows.n_positive == 0:
        raise BacktestError(f"no stock-day with an upper circuit to predict between {run.start} and {run.end}")
    scored = []
    with stages("score"):
        for version in versions:
            artifact = artifacts.load(settings.VCP_ARTIFACT_ROOT, name=version.name, version=str(version.version))
            scorer = NativeScorer.from_artifact(artifact)
            probability = scorer.predict_proba(select_features(rows, scorer.feature_names).X)
            # The label's slices and baselines plus the three truths, on the very same rows.
            metrics = evaluate_rows(
                scored_rows(rows, probability, threshold=scorer.threshold, new_threshold=scorer.new_circuit_threshold)
            )
            scored.append(_Scored(probability=probability, threshold=scorer.threshold, metrics=metrics))
    return _TestRows(y=rows.y.astype(np.float64), date_idx=rows.date_idx), scored[0], scored[1]


def _train_contenders(run: ComparisonRun, stages: Stages) -> tuple[_TestRows, _Scored, _Scored]:
    config = run.config
    fc = FoldConfig(**config["fold"])
    horizon = 1
    with stages("read_bars"):
        design = WalkForwardDesign(
            start=run.start, folds=1, train_days=int(config["train_days"]), test_days=(run.end - run.start).days + 1
        )
        try:
            (fold,) = design.make(np.asarray(trading_dates(end=run.end), dtype="datetime64[D]"))
        except ValueError as exc:
            raise BacktestError(str(exc)) from exc
        panel = panel_for(first=fold.train_start, last=fold.test_end, horizon=horizon, exchange=config.get("exchange"))
    cached = features_cached(panel, horizon=horizon, stages=stages)
    index = cached.panel.dates
    dataset = cached.rows_between(date_index(index, fold.train_start), date_index(index, fold.test_end))
    outcomes = []
    for side in ("a", "b"):
        with stages(f"train_{side}"):
            side_config = replace(fc, algorithm=config[side]["algorithm"], feature_set=config[side]["feature_set"])
            outcomes.append(train_fold(dataset, fold, config=side_config, purge=horizon, horizon=horizon))
    a, b = outcomes
    # Both sides score the very same test rows: the split depends on the dates only.
    if not (np.array_equal(a.date_idx, b.date_idx) and np.array_equal(a.stock_idx, b.stock_idx)):
        raise RuntimeError("the two contenders were scored on different rows")
    rows = _TestRows(y=a.y.astype(np.float64), date_idx=a.date_idx)
    return (
        rows,
        _Scored(probability=a.probability, threshold=a.threshold, metrics=a.metrics),
        _Scored(probability=b.probability, threshold=b.threshold, metrics=b.metrics),
    )


def comparison_execute(*, run_id: int) -> ComparisonRun:
    """Run a claimed comparison from its stored configuration (the body of the Celery task)."""
    run = run_start(ComparisonRun.objects.select_related("version_a", "version_b").get(pk=run_id))
    stages = Stages()
    try:
        if run.kind == ComparisonKind.VERSIONS:
            rows, a, b = _score_versions(run, stages)
        else:
            rows, a, b = _train_contenders(run, stages)
        with stages("mcnemar"):
            mcnemar = mcnemar_compare(
                y_true=rows.y, pred_a=a.probability >= a.threshold, pred_b=b.probability >= b.threshold
            )
        with stages("bootstrap"):
            boot = pr_auc_difference_ci(
                y_true=rows.y,
                score_a=a.probability,
                score_b=b.probability,
                days=rows.date_idx,
                n_boot=int(run.config.get("n_boot", 1000)),
            )
        run.metrics = jsonable({"a": a.metrics, "b": b.metrics, "threshold_a": a.threshold, "threshold_b": b.threshold})
        run.mcnemar = jsonable(mcnemar)
        run.bootstrap = jsonable(boot)
        run.verdict = f"Decisions: {mcnemar.verdict} Ranking: {boot.verdict}"
        run.counts = {"rows": len(rows.y), "positives": rows.positives, "days": int(np.unique(rows.date_idx).size)}
    except Exception as exc:
        run_fail_and_raise(run, exc, stages)
    return run_finish(run, stages)
