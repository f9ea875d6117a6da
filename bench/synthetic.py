"""Benchmark: the synthetic market generator's speed, memory and upper-circuit base rate. No database.

    .venv/bin/python bench/synthetic.py                      # 11,000 stocks x 750 days, seed 7
    .venv/bin/python bench/synthetic.py --stocks 2000 --days 250

Prints the generation time (seconds and stock-days per second), the peak resident memory of the
process, and the upper-circuit base rate measured as downstream code measures it: bands inferred
from the bars by ``marketdata.circuits.upper_circuit_panel``, overall and by series.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stocks", type=int, default=11_000)
    parser.add_argument("--days", type=int, default=750)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--end", type=dt.date.fromisoformat, default=dt.date(2024, 6, 28), help="last session")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))  # run as a script from anywhere: the repo's packages import

    from marketdata.circuits import upper_circuit_panel
    from marketdata.synthetic import generate_market

    started = time.perf_counter()
    market = generate_market(stocks=args.stocks, days=args.days, seed=args.seed, end=args.end)
    seconds = time.perf_counter() - started
    stock_days = args.stocks * args.days
    print(f"generate_market: {args.stocks:,} stocks x {args.days} days (seed {args.seed}) -> {len(market.bars):,} bars")
    print(f"  {seconds:.1f} s, {stock_days / seconds:,.0f} stock-days/s")

    started = time.perf_counter()
    panel = market.panel()
    upper = upper_circuit_panel(panel.close, panel.high, panel.prev_close)
    has_bar = panel.has_bar
    print(f"base rate (inferred bands, {time.perf_counter() - started:.1f} s to measure):")
    print(f"  all  {upper[has_bar].mean():.2%} of {int(has_bar.sum()):,} stock-days")
    for series in ("EQ", "BE", "SM"):
        cols = panel.series == series
        days = has_bar[:, cols]
        print(f"  {series:4} {upper[:, cols][days].mean():.2%} of {int(days.sum()):,} stock-days")
    streak = (upper[1:] & upper[:-1]).sum() / max(int(upper[1:].sum()), 1)
    print(f"  upper circuits that follow one the day before: {streak:.0%}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory: {peak_mb:,.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
