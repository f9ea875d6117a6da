"""``make bench``: run the data-path benchmarks, then print ONE table of every figure they wrote.

    DATABASE_URL=postgres://vcp:vcp@127.0.0.1:5432/vcp .venv/bin/python bench/summary.py [--only NAME ...]

Each benchmark runs in its own process under a time limit, and the run as a whole under
``TOTAL_BUDGET_SECONDS`` (14 minutes): a benchmark gets the smaller of its own limit and what is
left of the budget, so ``make bench`` prints its table within 15 minutes even on a loaded machine.
Each writes its figures to ``var/bench/<name>.csv`` as ``metric,value,unit,note`` rows. The table
then lists every CSV found in var/bench, including those written by benchmarks run separately
(``bench/load.py``'s, when present), with the file's age, so a stale figure is visible as stale. A
benchmark that fails, times out or cannot start within the budget is a FAILED row, never a missing one.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "var" / "bench"

# name -> (script and arguments, time limit in seconds). The slow setup of each (synthetic market,
# model training) is part of its limit.
PLAN: dict[str, tuple[list[str], int]] = {
    "inference": (["bench/inference.py", "--quick"], 150),
    "ingest": (["bench/ingest.py"], 240),
    "generate_market": (["bench/generate_market.py"], 180),
    "batch_scoring": (["bench/batch_scoring.py"], 420),
    "read_bars": (["bench/read_bars.py", "--drop", "--rounds", "2"], 300),
}


TOTAL_BUDGET_SECONDS = 14 * 60  # the table is printed within 15 minutes, whatever the machine's load


def _run(name: str, argv: list[str], limit: int) -> tuple[str, float]:
    started = time.perf_counter()
    log = OUT / f"{name}.log"
    with open(log, "w") as fh:
        try:
            done = subprocess.run([sys.executable, *argv], cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, timeout=limit)
            status = "ok" if done.returncode == 0 else f"FAILED (exit {done.returncode}, see {log.relative_to(ROOT)})"
        except subprocess.TimeoutExpired:
            status = f"FAILED (over its {limit} s limit, see {log.relative_to(ROOT)})"
    return status, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", choices=sorted(PLAN), help="run only these (default: all)")
    parser.add_argument("--no-run", action="store_true", help="print the table of the CSVs already written")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    runs: dict[str, tuple[str, float]] = {}
    if not args.no_run:
        deadline = time.monotonic() + TOTAL_BUDGET_SECONDS
        for name in args.only or list(PLAN):
            argv, own_limit = PLAN[name]
            limit = int(min(own_limit, deadline - time.monotonic()))
            if limit < 10:
                runs[name] = (f"FAILED (not run: the {TOTAL_BUDGET_SECONDS} s budget of make bench is spent)", 0.0)
                print(f"== {name}: {runs[name][0]}", flush=True)
                continue
            print(f"== {name}: {' '.join(argv)} (limit {limit} s)", flush=True)
            runs[name] = _run(name, argv, limit)
            print(f"   {runs[name][0]} in {runs[name][1]:.0f} s", flush=True)
    load = os.getloadavg()
    print(f"\nSummary (load average now {load[0]:.2f} {load[1]:.2f} {load[2]:.2f})")
    print(f"| {'benchmark':<14} | {'metric':<36} | {'value':>12} | {'unit':<6} | note |")
    print(f"|{'-' * 16}|{'-' * 38}|{'-' * 14}|{'-' * 8}|------|")
    failed = False
    for name, (status, seconds) in runs.items():
        if status != "ok":
            failed = True
            print(f"| {name:<14} | {'run':<36} | {seconds:12.0f} | {'s':<6} | {status} |")
    for path in sorted(OUT.glob("*.csv")):
        age = (time.time() - path.stat().st_mtime) / 60
        fresh = path.stem in runs and runs[path.stem][0] == "ok"
        with open(path, newline="") as fh:
            rows = [_as_metric(row) for row in csv.DictReader(fh)]
        if rows and "call" in rows[0].get("source", ""):
            rows = rows[-LOAD_ROWS:]  # bench/load.py appends one row per call kind and run
        for row in rows:
            note = row.get("note", "") + ("" if fresh else f" (from an earlier run, {age:.0f} min old)")
            cells = (
                path.stem.ljust(14),
                row["metric"].ljust(36),
                row["value"].rjust(12),
                row.get("unit", "").ljust(6),
            )
            print("| " + " | ".join(cells) + f" | {note} |")
    return 1 if failed else 0


LOAD_ROWS = 8  # the latest rows of bench/load.py's CSV shown in the table


def _as_metric(row: dict[str, str]) -> dict[str, str]:
    """A CSV row as ``metric, value, unit, note``: bench/load.py's rows (one per call kind and run,
    with latencies, errors and hit rate) are turned into a throughput line."""
    if "metric" in row:
        return row
    what = " ".join(part for part in (row.get("label", ""), row.get("mode", ""), row.get("call", "")) if part)
    note = (
        f"p50 {row.get('p50_ms')} / p95 {row.get('p95_ms')} / p99 {row.get('p99_ms')} ms, "
        f"errors {row.get('errors')}, hit rate {row.get('cache_hit_rate') or '-'}, "
        f"load {row.get('load1_before')} -> {row.get('load1_after')}, {row.get('when', '')}"
    )
    return {
        "metric": what[:36],
        "value": row.get("throughput_rps", ""),
        "unit": "req/s",
        "note": note,
        "source": "call",
    }


if __name__ == "__main__":
    sys.exit(main())
