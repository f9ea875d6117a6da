"""Backtesting's writes, one module per workflow; the public names are re-exported here.

- ``records``: errors, configuration fingerprints, claiming and closing a run's row.
- ``data``: the panel of a period, date indices, scored rows, the feature cache.
- ``backtests``: a registered version scored and traded over a period.
- ``walk_forwards``: retrain-then-predict folds, summarised and traded.
- ``comparisons``: two models on the same days, McNemar and a bootstrap interval.
"""

from __future__ import annotations

from backtesting.services.backtests import backtest_create, backtest_execute, backtest_run
from backtesting.services.comparisons import Contender, comparison_create, comparison_execute, comparison_run
from backtesting.services.data import data_root, features_root, panel_for
from backtesting.services.records import BacktestError, RunInProgressError, config_fingerprint
from backtesting.services.walk_forwards import (
    DEFAULT_TARGET_F1,
    WalkForwardDesign,
    walk_forward_create,
    walk_forward_finish,
    walk_forward_fold_run,
    walk_forward_prepare,
)

__all__ = (
    "DEFAULT_TARGET_F1",
    "BacktestError",
    "Contender",
    "RunInProgressError",
    "WalkForwardDesign",
    "backtest_create",
    "backtest_execute",
    "backtest_run",
    "comparison_create",
    "comparison_execute",
    "comparison_run",
    "config_fingerprint",
    "data_root",
    "features_root",
    "panel_for",
    "walk_forward_create",
    "walk_forward_finish",
    "walk_forward_fold_run",
    "walk_forward_prepare",
)
