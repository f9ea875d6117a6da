"""Benchmark: ``manage.py generate_market`` for 2,000 stocks x 750 sessions into a fresh PostgreSQL database.

    DATABASE_URL=postgres://vcp:vcp@127.0.0.1:5432/vcp .venv/bin/python bench/generate_market.py

Creates the scratch database ``vcp_bench_generate`` on DATABASE_URL's server (dropping it first if
present), migrates it, runs the command (the synthetic market, then ``bars_upsert``: the same write
path as ingestion) and prints rows/s for the whole command and for the write alone. Then runs it
again: the same seed must change nothing (0 inserted, 0 updated). Drops the database unless
``--keep``. Writes var/bench/generate_market.csv for bench/summary.py. Refuses SQLite.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from ingest import _database_url, _recreate, django_on_scratch  # noqa: E402  (bench/ is a folder of scripts)

_COUNTS = re.compile(r"inserted (\d+), updated (\d+), unchanged (\d+)")


def _write_csv(*, rows: int, seconds: float, write_seconds: float) -> None:
    out = ROOT / "var" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0]
    with open(out / "generate_market.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["metric", "value", "unit", "note"])
        writer.writerow(
            ["generate_market_rows_per_s", f"{rows / seconds:.0f}", "rows/s", f"target >= 150000; load {load:.1f}"]
        )
        writer.writerow(["generate_market_write_rows_per_s", f"{rows / write_seconds:.0f}", "rows/s", "bars_upsert"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stocks", type=int, default=2000)
    parser.add_argument("--days", type=int, default=750)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database", default="vcp_bench_generate", help="Scratch database to create and drop.")
    parser.add_argument("--keep", action="store_true", help="Keep the scratch database afterwards.")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        print("bench/generate_market.py needs DATABASE_URL=postgres://... (refusing SQLite)", file=sys.stderr)
        return 2
    admin_url = _database_url(url, "postgres")
    django_on_scratch(url, args.database, data_prefix="vcp_bench_generate_")
    from django.core.management import call_command
    from django.db import connection

    import marketdata.management.commands.generate_market as command

    # Time the write apart from the market's generation: a timer around the command's own upsert step.
    write_seconds: list[float] = []
    upsert = command._market_upsert

    def timed_upsert(*a: object, **k: object) -> object:
        started = time.perf_counter()
        try:
            return upsert(*a, **k)  # type: ignore[arg-type]
        finally:
            write_seconds.append(time.perf_counter() - started)

    command._market_upsert = timed_upsert  # type: ignore[assignment]
    ok = False
    try:
        call_command("migrate", verbosity=0)
        options = {"stocks": args.stocks, "days": args.days, "seed": args.seed, "verbosity": 0}
        load_before = os.getloadavg()[0]
        out = io.StringIO()
        started = time.perf_counter()
        call_command("generate_market", stdout=out, **options)
        seconds = time.perf_counter() - started
        inserted, updated, unchanged = (int(n) for n in _COUNTS.search(out.getvalue()).groups())  # type: ignore[union-attr]
        rows = inserted + updated + unchanged
        print(out.getvalue().strip())
        print(
            f"first run:  {rows:,} bars in {seconds:.1f} s = {rows / seconds:,.0f} rows/s end to end; "
            f"write {write_seconds[0]:.1f} s = {rows / write_seconds[0]:,.0f} rows/s "
            f"(load {load_before:.1f} -> {os.getloadavg()[0]:.1f})"
        )
        out = io.StringIO()
        started = time.perf_counter()
        call_command("generate_market", stdout=out, **options)
        again = tuple(int(n) for n in _COUNTS.search(out.getvalue()).groups())  # type: ignore[union-attr]
        print(f"rerun:      {time.perf_counter() - started:.1f} s, inserted/updated/unchanged = {again}")
        ok = inserted == rows and again[:2] == (0, 0)
        _write_csv(rows=rows, seconds=seconds, write_seconds=write_seconds[0])
    finally:
        connection.close()
        if not args.keep:
            _recreate(admin_url, args.database, drop_only=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
