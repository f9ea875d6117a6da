"""Options shared by the backtesting commands: dates, the trading strategy and fold training."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import CommandParser

from backtesting.costs import CostRates
from backtesting.engine import BacktestConfig
from backtesting.feature_sets import FEATURE_SETS
from backtesting.fold_training import FoldConfig
from backtesting.models import BacktestRun


def add_strategy_arguments(parser: CommandParser) -> None:
    group = parser.add_argument_group("trading simulation")
    group.add_argument("--top-k", type=int, default=None, help="Also require a place among the day's top k scores.")
    group.add_argument(
        "--holding-days", type=int, default=1, help="Exit at the close of this trading day (1: intraday)."
    )
    group.add_argument("--max-positions", type=int, default=10)
    group.add_argument(
        "--liquidity-share", type=float, default=0.02, help="Cap: share of the signal day's traded value."
    )
    group.add_argument("--capital", type=float, default=1_000_000.0, help="Initial capital, rupees.")
    group.add_argument("--slippage-bps", type=float, default=10.0)
    group.add_argument("--risk-free", type=float, default=0.0, help="Annual risk-free rate, e.g. 0.065.")


def strategy_from(options: dict[str, Any], *, threshold: float | None) -> BacktestConfig:
    return BacktestConfig(
        initial_capital=options["capital"],
        threshold=threshold,
        top_k=options["top_k"],
        holding_days=options["holding_days"],
        max_positions=options["max_positions"],
        liquidity_share=options["liquidity_share"],
        costs=CostRates(slippage_bps=options["slippage_bps"]),
    )


def add_fold_arguments(parser: CommandParser) -> None:
    group = parser.add_argument_group("model training (per fold)")
    group.add_argument("--rounds", type=int, default=200, help="Boosting rounds at most (early stopping on the tail).")
    group.add_argument("--negative-sample-rate", type=float, default=0.3)
    group.add_argument(
        "--valid-dates", type=int, default=40, help="Trading dates at the end of each training window for validation."
    )
    group.add_argument("--threads", type=int, default=1, help="Threads per model fit.")
    group.add_argument("--seed", type=int, default=0)


def fold_config_from(options: dict[str, Any], *, algorithm: str, feature_set: str) -> FoldConfig:
    return FoldConfig(
        algorithm=algorithm,  # type: ignore[arg-type]
        feature_set=feature_set,
        rounds=options["rounds"],
        negative_sample_rate=options["negative_sample_rate"],
        valid_dates=options["valid_dates"],
        threads=options["threads"],
        seed=options["seed"],
    )


FEATURE_SET_CHOICES = sorted(FEATURE_SETS)


def add_report_argument(parser: CommandParser) -> None:
    parser.add_argument(
        "--report",
        type=Path,
        default=None,
        metavar="PATH",
        help="Also write the self-contained HTML report to PATH, and its JSON export beside it (.json).",
    )


def write_report(run: BacktestRun, path: Path) -> tuple[Path, Path]:
    """The run's HTML report at ``path`` and its JSON export at ``path`` with a .json suffix."""
    from backtesting.report import render_report, report_json

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(run), encoding="utf-8")
    json_path = path.with_suffix(".json")
    json_path.write_text(json.dumps(report_json(run), indent=1), encoding="utf-8")
    return path, json_path
