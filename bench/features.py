"""Benchmark: all 25 features over the synthetic market (11,000 stocks x 300 days) and the real data.

    .venv/bin/python bench/features.py [--stocks 11000] [--days 300] [--repeat 3] [--no-real]

Prints wall and CPU milliseconds per stock for ``compute_features`` (target < 0.5 ms per stock on
the synthetic market), for ``features_on`` (one date, the scoring path), and the time on the full
real panel when ../shared/data is present. The first call of a process is reported apart: it pays
the page faults of freshly allocated arrays, which a daily job always pays.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, this directory leads sys.path and this file's name would shadow the package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from features import Panel, compute_features, features_on  # noqa: E402
from marketdata.synthetic import generate_market  # noqa: E402

REAL_PARQUET = ROOT.parent / "shared" / "data" / "nse_eq_daily_2015_2022.parquet"
TARGET_MS_PER_STOCK = 0.5


def _timed(call: Callable[[], object]) -> tuple[float, float]:
    """(wall, cpu) seconds of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    call()
    return time.perf_counter() - wall, time.process_time() - cpu


def _line(label: str, wall: float, cpu: float, stocks: int) -> str:
    return (
        f"{label}: {wall:.2f} s wall, {cpu:.2f} s cpu = {wall / stocks * 1e3:.3f} / {cpu / stocks * 1e3:.3f} ms/stock"
    )


def _report(label: str, runs: list[tuple[float, float]], stocks: int) -> None:
    print(_line(f"{label}, first call", *runs[0], stocks))
    if len(runs) > 1:
        wall = statistics.median(r[0] for r in runs[1:])
        cpu = statistics.median(r[1] for r in runs[1:])
        print(_line(f"{label}, median of {len(runs) - 1} more", wall, cpu, stocks))


def bench_synthetic(*, stocks: int, days: int, repeat: int) -> None:
    started = time.perf_counter()
    market = generate_market(stocks=stocks, days=days, seed=7, end=dt.date(2024, 12, 31))
    generated = time.perf_counter() - started
    panel = Panel.from_long(market.bars)
    print(f"synthetic market {stocks} x {days}: generated in {generated:.1f} s, panel {panel.shape}")
    runs = [_timed(lambda: compute_features(panel)) for _ in range(repeat)]
    _report("compute_features", runs, panel.shape[1])
    worst_cpu = max(r[1] for r in runs) / panel.shape[1] * 1e3
    verdict = "meets" if worst_cpu < TARGET_MS_PER_STOCK else "MISSES"
    print(f"slowest run {worst_cpu:.3f} ms/stock cpu: {verdict} the {TARGET_MS_PER_STOCK} ms/stock target")
    on = [_timed(lambda: features_on(panel, panel.dates[-1])) for _ in range(repeat)]
    _report("features_on (last date)", on, panel.shape[1])


def bench_real() -> None:
    if not REAL_PARQUET.is_file():
        print(f"real data: skipped, {REAL_PARQUET} not found")
        return
    started = time.perf_counter()
    panel = Panel.from_long(pd.read_parquet(REAL_PARQUET))
    print(f"real data {panel.shape}: loaded into a panel in {time.perf_counter() - started:.1f} s")
    runs = [_timed(lambda: compute_features(panel))]
    _report("compute_features (real)", runs, panel.shape[1])
    stock_days = int(panel.has_bar.sum())
    print(f"real data: {runs[0][0] / stock_days * 1e6:.2f} us per stock-day with a bar ({stock_days} rows)")
    on = [_timed(lambda: features_on(panel, panel.dates[-1]))]
    _report("features_on (real, last date)", on, panel.shape[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stocks", type=int, default=11_000)
    parser.add_argument("--days", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-real", action="store_true", help="skip the real-data run")
    args = parser.parse_args()
    bench_synthetic(stocks=args.stocks, days=args.days, repeat=max(1, args.repeat))
    if not args.no_real:
        bench_real()
    print(f"peak resident memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
