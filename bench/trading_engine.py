"""The circuit-aware trading engine on the full real panel: one simulation of 'hit today' signals.

    .venv/bin/python bench/trading_engine.py [--parquet PATH]

Prints the panel's shape, the seconds `backtesting.engine.simulate` takes (the target in
docs/performance.md: a few seconds for 1,977 dates x 2,896 stocks) and the trade counts, so the
figure is reproducible. Exits 0 with a note when the real data is absent.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from backtesting.engine import BacktestConfig, simulate  # noqa: E402
from marketdata import circuits  # noqa: E402
from marketdata.panel import Panel  # noqa: E402

DEFAULT_PARQUET = ROOT.parent / "shared" / "data" / "nse_eq_daily_2015_2022.parquet"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parquet", type=Path, default=DEFAULT_PARQUET)
    args = parser.parse_args()
    if not args.parquet.is_file():
        print(f"bench/trading_engine.py: skipped: {args.parquet} not found (the real data sits in ../shared/data)")
        return 0
    panel = Panel.from_long(pd.read_parquet(args.parquet))
    tick = circuits.tick_paise(panel.open, panel.high, panel.low, panel.close)
    band = circuits.band_estimate(panel.close, panel.high, panel.low, panel.prev_close, tick=tick)
    hit_today = circuits.is_upper_lock(panel.close, panel.high, panel.prev_close, tick=tick).astype(np.float64)
    hit_today[~panel.has_bar] = np.nan
    started = time.perf_counter()
    result = simulate(panel=panel, scores=hit_today, bands=band, config=BacktestConfig(threshold=0.5))
    seconds = time.perf_counter() - started
    print(f"panel {panel.shape[0]:,} dates x {panel.shape[1]:,} stocks; load average {os.getloadavg()[0]:.1f}")
    print(f"simulate: {seconds:.2f} s; entries {result.counts['entries']:,}, trades {len(result.trades):,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
