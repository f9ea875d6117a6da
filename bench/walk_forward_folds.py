"""Time walk-forward folds on the real NSE panel, without the database: what one fold task costs.

    .venv/bin/python bench/walk_forward_folds.py --algorithm lightgbm --folds 0 17 35 --rounds 200

Reads ../shared/data/nse_eq_daily_2015_2022.parquet, computes the features once, lays out the 36
folds from 2020-01-01 and trains the chosen ones, printing seconds per stage and the fold's test F1
and PR-AUC next to the "hit today" baseline. Prints figures only; never part of the test run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, this directory leads sys.path and bench/features.py would shadow the package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from backtesting.fold_training import FoldConfig, train_fold  # noqa: E402
from backtesting.walkforward import make_folds  # noqa: E402
from features import spec  # noqa: E402
from marketdata.panel import Panel  # noqa: E402
from modelregistry.datasets import panel_dataset  # noqa: E402

PARQUET = ROOT.parent / "shared" / "data" / "nse_eq_daily_2015_2022.parquet"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algorithm", default="lightgbm", choices=["lightgbm", "xgboost"])
    parser.add_argument("--folds", type=int, nargs="+", default=[0, 17, 35])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--negative-sample-rate", type=float, default=0.3)
    parser.add_argument("--valid-dates", type=int, default=40)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--start", default="2020-01-01")
    args = parser.parse_args()
    if not PARQUET.is_file():
        print(f"skipped: {PARQUET} is absent (the real data sits beside the checkout)")
        return

    started = time.perf_counter()
    panel = Panel.from_long(pd.read_parquet(PARQUET))
    first_train = np.datetime64(args.start, "D") - np.timedelta64(365, "D")
    lo = max(int(np.searchsorted(panel.dates, first_train)) - spec.LOOKBACK, 0)
    panel = panel.between(panel.dates[lo], panel.dates[-1])
    print(f"panel {panel.shape} read in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    data = panel_dataset(panel)
    print(f"features and rows ({len(data.dataset):,} rows) in {time.perf_counter() - started:.1f} s")
    folds = make_folds(panel.dates, start=args.start)
    config = FoldConfig(
        algorithm=args.algorithm,
        rounds=args.rounds,
        negative_sample_rate=args.negative_sample_rate,
        valid_dates=args.valid_dates,
        threads=args.threads,
    )
    for k in args.folds:
        fold = folds[k]
        started = time.perf_counter()
        outcome = train_fold(data.dataset, fold, config=config, purge=1, horizon=1)
        seconds = time.perf_counter() - started
        model, base = outcome.metrics["all"]["model"], outcome.metrics["all"]["baselines"]["hit_today"]
        print(
            f"fold {k:2d} test {fold.test_start}..{fold.test_end}: {seconds:5.1f} s "
            f"(fit {outcome.timings['fit']:.1f} s, best iteration {outcome.best_iteration}), "
            f"rows {outcome.rows['train_after_sampling']:,} fit / {outcome.rows['test']:,} test, "
            f"F1 {model['f1']:.3f} (hit today {base['f1']:.3f}), PR-AUC {model['pr_auc']:.3f} "
            f"(hit today {base['pr_auc']:.3f})"
        )


if __name__ == "__main__":
    main()
