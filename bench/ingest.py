"""Benchmark: load the real 3.4M-row NSE parquet into a fresh PostgreSQL database, then reload it.

    DATABASE_URL=postgres://vcp:vcp@127.0.0.1:5432/vcp .venv/bin/python bench/ingest.py

Creates the scratch database ``vcp_bench_ingest`` on DATABASE_URL's server (dropping it first if
present), migrates it, loads the parquet with ``bars_ingest`` and prints rows/s, then reloads it
twice: forced (the full parse + upsert path, which must report 0 inserted and 0 updated) and
unforced (the sha256 "already ingested" check). Drops the scratch database at the end unless
``--keep``. Refuses to run on SQLite: its numbers say nothing about production.

After each load it prints where the time went: timers wrapped around the stages of the write path
(the bench's own instrumentation, not the product's), the rest being the file read, the IngestRun
and the commit.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PARQUET = ROOT.parent / "shared" / "data" / "nse_eq_daily_2015_2022.parquet"


def _database_url(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def _recreate(admin_url: str, name: str, *, drop_only: bool = False) -> None:
    import psycopg2

    conn = psycopg2.connect(admin_url)
    try:
        conn.autocommit = True  # CREATE/DROP DATABASE cannot run inside a transaction
        with conn.cursor() as cursor:
            # An autovacuum worker (another role's backend) can hold the database for a moment after
            # a big load; FORCE may not terminate it, so wait and retry rather than fail the bench.
            for attempt in range(30):
                try:
                    cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                    break
                except (psycopg2.errors.InsufficientPrivilege, psycopg2.errors.ObjectInUse):
                    if attempt == 29:
                        raise
                    time.sleep(1)
            if not drop_only:
                cursor.execute(f'CREATE DATABASE "{name}"')
    finally:
        conn.close()


def django_on_scratch(url: str, name: str, *, data_prefix: str) -> None:
    """(Re)create the scratch database ``name`` on ``url``'s server and set Django up on it, with a
    temporary data directory and quiet logs (shared with bench/generate_market.py)."""
    _recreate(_database_url(url, "postgres"), name)
    os.environ.update(
        DATABASE_URL=_database_url(url, name),
        DJANGO_SETTINGS_MODULE="vcp_platform.settings",
        DEBUG="1",
        VCP_LOG_TO_FILE="0",
        VCP_DATA_DIR=tempfile.mkdtemp(prefix=data_prefix),
        LOG_LEVEL="WARNING",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _write_csv(*, rows: int, seconds: float) -> None:
    """The first load's figures for bench/summary.py (var/bench/ingest.csv)."""
    import csv

    out = ROOT / "var" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0]
    with open(out / "ingest.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["metric", "value", "unit", "note"])
        writer.writerow(["ingest_rows_per_s", f"{rows / seconds:.0f}", "rows/s", f"target >= 150000; load {load:.1f}"])
        writer.writerow(["ingest_seconds", f"{seconds:.1f}", "s", f"{rows} rows"])


_STAGES = (
    ("marketdata.services", "prepare_file", "parse, validate, judge dates (no database)"),
    ("marketdata.services", "_bar_rows", "bars_upsert: check and reduce the frame"),
    ("marketdata.services", "_instruments_upsert", "instruments: create, refresh, last bar dates"),
    ("marketdata.services", "_in_key_order", "sort new rows by (instrument, date)"),
    ("common.pgbinary", "encode_rows", "binary COPY payload (numpy)"),
    ("marketdata.services", "copy_in", "COPY stream incl. the payload above"),
    ("marketdata.bars_copy", "_rebuild", "bulk window: indexes and constraints built again"),
    ("marketdata.services", "_bars_upsert_staged", "staged upsert (rows not after the last bar)"),
)


def _stage_timers() -> dict[str, float]:
    """Wrap each stage's function with a timer; returns the dict the timers add their seconds to."""
    import contextlib
    import functools
    import importlib

    spent: dict[str, float] = {}

    def timed(name: str, func: Any) -> Any:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                spent[name] = spent.get(name, 0.0) + time.perf_counter() - started

        return wrapper

    for module_name, name, _ in _STAGES:
        module = importlib.import_module(module_name)
        if name == "_rebuild":  # the part of bulk_window after its body: time the context's exit
            window = module.bulk_window

            @contextlib.contextmanager
            def timed_window(*, rows: int, _window: Any = window) -> Any:
                with _window(rows=rows) as opened:
                    yield opened
                    started = time.perf_counter()
                spent["_rebuild"] = spent.get("_rebuild", 0.0) + time.perf_counter() - started

            module.bulk_window = timed_window
        else:
            setattr(module, name, timed(name, getattr(module, name)))
    return spent


def _print_stages(spent: dict[str, float], total: float) -> None:
    for _, name, what in _STAGES:
        if name in spent:
            print(f"    {spent[name]:6.2f} s  {100 * spent[name] / total:4.0f}%  {what}")
    spent.clear()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parquet", type=Path, default=DEFAULT_PARQUET)
    parser.add_argument("--database", default="vcp_bench_ingest", help="Scratch database to create and drop.")
    parser.add_argument("--keep", action="store_true", help="Keep the scratch database afterwards.")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        print("bench/ingest.py needs DATABASE_URL=postgres://... (refusing SQLite or nothing)", file=sys.stderr)
        return 2
    if not args.parquet.is_file():
        print(f"{args.parquet} not found: pass --parquet", file=sys.stderr)
        return 2

    admin_url = _database_url(url, "postgres")
    django_on_scratch(url, args.database, data_prefix="vcp_bench_ingest_")
    from django.core.management import call_command
    from django.db import connection

    from marketdata.services import bars_ingest

    spent = _stage_timers()
    try:
        call_command("migrate", verbosity=0)
        print(f"parquet: {args.parquet} ({args.parquet.stat().st_size / 1e6:.1f} MB)")

        started = time.perf_counter()
        [first] = bars_ingest(path=args.parquet, progress=True)
        seconds = time.perf_counter() - started
        rows = first.inserted + first.updated + first.unchanged
        print(f"first load:  {first.summary()}")
        print(
            f"first load:  {rows:,} rows in {seconds:.1f} s = {rows / seconds:,.0f} rows/s "
            f"(load average {os.getloadavg()[0]:.1f})"
        )
        _print_stages(spent, seconds)

        started = time.perf_counter()
        [again] = bars_ingest(path=args.parquet, progress=True, force=True)
        reload_seconds = time.perf_counter() - started
        print(f"forced reload: {again.summary()}")
        print(f"forced reload: {reload_seconds:.1f} s (inserted={again.inserted} updated={again.updated})")
        _print_stages(spent, reload_seconds)

        started = time.perf_counter()
        [noop] = bars_ingest(path=args.parquet, progress=False)
        print(f"plain rerun: {noop.summary()} in {time.perf_counter() - started:.2f} s")
        ok = first.ok and again.inserted == 0 and again.updated == 0 and noop.status == "already_ingested"
        _write_csv(rows=rows, seconds=seconds)
    finally:
        connection.close()
        if not args.keep:
            _recreate(admin_url, args.database, drop_only=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
