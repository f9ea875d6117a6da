"""Status and category values of backtesting runs, in one place."""

from __future__ import annotations

from django.db import models


class RunStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


ACTIVE_STATUSES = (RunStatus.PENDING, RunStatus.RUNNING)


class BacktestSource(models.TextChoices):
    """Where a backtest's scores come from."""

    MODEL_VERSION = "model_version", "A registered model version"
    WALK_FORWARD = "walk_forward", "A walk-forward's out-of-sample predictions"


class ComparisonKind(models.TextChoices):
    VERSIONS = "versions", "Two registered versions"
    ALGORITHMS = "algorithms", "Two algorithms trained on the same window"
    FEATURE_SETS = "feature_sets", "Two feature sets trained on the same window"
