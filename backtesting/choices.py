"""Category values of backtesting runs (their status is common.choices.RunStatus)."""

from __future__ import annotations

from django.db import models


class BacktestSource(models.TextChoices):
    """Where a backtest's scores come from."""

    MODEL_VERSION = "model_version", "A registered model version"
    WALK_FORWARD = "walk_forward", "A walk-forward's out-of-sample predictions"


class ComparisonKind(models.TextChoices):
    VERSIONS = "versions", "Two registered versions"
    ALGORITHMS = "algorithms", "Two algorithms trained on the same window"
    FEATURE_SETS = "feature_sets", "Two feature sets trained on the same window"
