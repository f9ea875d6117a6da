"""The records of backtesting: trading backtests, walk-forwards with their folds, and model comparisons.

Every run leaves a row with its configuration, status, timings, counts and error. A run is keyed by
the fingerprint of its configuration, so running the same configuration again updates its row
(``runs`` counts how often) instead of adding a duplicate; walk-forward folds are unique per run.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from backtesting.choices import BacktestSource, ComparisonKind
from common.models import RunRecord
from modelregistry.choices import Algorithm
from modelregistry.models import ModelVersion


class ConfiguredRun(RunRecord):
    """A run keyed by the fingerprint of its configuration: the same configuration reuses its row."""

    fingerprint = models.CharField(max_length=64, unique=True, help_text="sha256 of the configuration.")
    config = models.JSONField(default=dict)
    runs = models.PositiveIntegerField(default=0, help_text="How many times this configuration was run.")

    class Meta:
        abstract = True


class BacktestRun(ConfiguredRun):
    """A trading simulation with Indian costs over ``[start, end]`` and the metrics of its scores.

    ``model_key`` names the model configuration; the deflated Sharpe counts the recorded runs that
    share it as the number of trials.
    """

    source = models.CharField(max_length=16, choices=BacktestSource.choices)
    model_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="backtests"
    )
    walk_forward = models.OneToOneField(
        "WalkForwardRun", null=True, blank=True, on_delete=models.CASCADE, related_name="backtest"
    )
    start = models.DateField()
    end = models.DateField()
    model_key = models.CharField(max_length=200, db_index=True)
    metrics = models.JSONField(default=dict, help_text="Prediction metrics: overall, per year, per quarter.")
    risk = models.JSONField(default=dict, help_text="Risk of the strategy and the benchmark, deflated Sharpe.")
    counts = models.JSONField(default=dict, help_text="Rows scored and the engine's signal/entry/exit counts.")
    series = models.JSONField(default=dict, help_text="Daily equity, benchmark, drawdowns, monthly returns.")
    trades = models.JSONField(default=dict, help_text='Trade-by-trade table: {"columns", "rows"}.')
    feature_importance = models.JSONField(default=dict)
    sharpe = models.FloatField(null=True, blank=True, help_text="Annualised Sharpe of the strategy.")
    deflated_sharpe = models.FloatField(null=True, blank=True)
    n_trades = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["-created_at"], name="backtestrun_created")]

    def __str__(self) -> str:
        return f"backtest {self.pk} {self.start}..{self.end} ({self.status})"

    @property
    def label(self) -> str:
        if self.model_version_id is not None:
            return f"{self.model_version} {self.start}..{self.end}"
        return f"walk-forward {self.walk_forward_id} {self.start}..{self.end}"

    def strategy(self, key: str) -> Any:
        return (self.risk.get("strategy") or {}).get(key)

    def benchmark(self, key: str) -> Any:
        return (self.risk.get("benchmark") or {}).get(key)


class WalkForwardRun(ConfiguredRun):
    """Monthly retrain-then-predict cycles: ``folds`` test windows of ``test_days`` from ``start``.

    ``features_key`` names the cached features every fold reads (computed once per panel).
    """

    algorithm = models.CharField(max_length=16, choices=Algorithm.choices)
    feature_set = models.CharField(max_length=32, default="all")
    start = models.DateField()
    folds = models.PositiveSmallIntegerField()
    train_days = models.PositiveSmallIntegerField(help_text="Calendar days of each training window.")
    test_days = models.PositiveSmallIntegerField(help_text="Calendar days of each test window.")
    horizon = models.PositiveSmallIntegerField(default=1, help_text="Label horizon, trading days.")
    purge = models.PositiveSmallIntegerField(default=1, help_text="Trading days dropped before each test window.")
    embargo = models.PositiveSmallIntegerField(default=0, help_text="Trading days embargoed after each test window.")
    target_f1 = models.FloatField(default=0.65)
    features_key = models.CharField(max_length=64, blank=True)
    summary = models.JSONField(default=dict, help_text="Mean/std F1, consistency, trend test, fold counts.")
    metrics = models.JSONField(default=dict, help_text="Pooled out-of-sample metrics: overall, per year, quarter.")
    feature_importance = models.JSONField(default=dict, help_text="Mean gain share over the folds.")
    counts = models.JSONField(default=dict)
    mean_f1 = models.FloatField(null=True, blank=True)
    std_f1 = models.FloatField(null=True, blank=True)
    consistency = models.FloatField(null=True, blank=True, help_text="Share of folds with F1 >= target_f1.")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["-created_at"], name="walkforwardrun_created")]

    def __str__(self) -> str:
        return f"walk-forward {self.pk} {self.algorithm} x{self.folds} from {self.start} ({self.status})"


class WalkForwardFold(RunRecord):
    """One fold of a walk-forward: its dates, its model's test metrics and the baselines'."""

    run = models.ForeignKey(WalkForwardRun, on_delete=models.CASCADE, related_name="fold_rows")
    index = models.PositiveSmallIntegerField()
    train_start = models.DateField()
    train_end = models.DateField()
    valid_start = models.DateField(null=True, blank=True, help_text="First date of the validation tail.")
    test_start = models.DateField()
    test_end = models.DateField()
    embargo_end = models.DateField()
    n_train_dates = models.PositiveSmallIntegerField()
    n_test_dates = models.PositiveSmallIntegerField()
    threshold = models.FloatField(null=True, blank=True)
    best_iteration = models.PositiveIntegerField(null=True, blank=True)
    f1 = models.FloatField(null=True, blank=True)
    precision = models.FloatField(null=True, blank=True)
    recall = models.FloatField(null=True, blank=True)
    pr_auc = models.FloatField(null=True, blank=True)
    precision_at_k = models.FloatField(null=True, blank=True)
    hit_today_f1 = models.FloatField(null=True, blank=True)
    hit_today_pr_auc = models.FloatField(null=True, blank=True)
    new_circuits_pr_auc = models.FloatField(null=True, blank=True)
    metrics = models.JSONField(default=dict, help_text="evaluation.evaluate on the test window.")
    rows = models.JSONField(default=dict)
    feature_importance = models.JSONField(default=dict)
    predictions = models.CharField(max_length=500, blank=True, help_text="File of the test rows' probabilities.")

    class Meta:
        ordering = ["run_id", "index"]
        constraints = [models.UniqueConstraint(fields=["run", "index"], name="walkforwardfold_unique_run_index")]

    def __str__(self) -> str:
        return f"fold {self.index} of walk-forward {self.run_id} ({self.status})"


class ComparisonRun(ConfiguredRun):
    """Two models on the same test days: side-by-side metrics, McNemar's test, a PR-AUC interval."""

    kind = models.CharField(max_length=16, choices=ComparisonKind.choices)
    label_a = models.CharField(max_length=120)
    label_b = models.CharField(max_length=120)
    version_a = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    version_b = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    start = models.DateField(help_text="First test day.")
    end = models.DateField(help_text="Last test day.")
    metrics = models.JSONField(default=dict, help_text='{"a": evaluate, "b": evaluate} on the same rows.')
    mcnemar = models.JSONField(default=dict)
    bootstrap = models.JSONField(default=dict)
    verdict = models.TextField(blank=True)
    counts = models.JSONField(default=dict)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["-created_at"], name="comparisonrun_created")]

    def __str__(self) -> str:
        return f"comparison {self.pk}: {self.label_a} vs {self.label_b} ({self.status})"
