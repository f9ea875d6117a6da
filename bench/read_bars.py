"""Benchmark: the bars read (``marketdata.selectors.bars_panel``) against the CSV read it replaced.

    DATABASE_URL=postgres://vcp:vcp@127.0.0.1:5432/vcp .venv/bin/python bench/read_bars.py

Reads the last 311 trading dates of every stock (what ``score_universe`` reads) from a database
holding a synthetic market, interleaving the two readers ``--rounds`` times so both see the same
machine load: the previous one (``COPY ... TO STDOUT (FORMAT csv)`` of the bars joined to their
instrument, ``pandas.read_csv``, ``Panel.from_long``) and the current one (binary ``COPY`` of the
numeric columns, ``np.frombuffer``, an O(rows) scatter into the panel). Checks that both panels are
equal. The database (``--database``, default vcp_bench_read) is filled with a synthetic market of
``--stocks`` x ``--days`` when it has no bars, and kept (pass ``--drop`` to drop it afterwards).
Prints the median seconds of each and writes them to var/bench/read_bars.csv.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
END = dt.date(2024, 8, 2)


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def _ensure_database(url: str, name: str) -> None:
    import psycopg2

    connection = psycopg2.connect(_with_database(url, "postgres"))
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()


def _csv_panel(start: dt.date, end: dt.date):  # type: ignore[no-untyped-def]
    """The previous reader, kept here as the baseline: CSV COPY of the joined rows + read_csv."""
    import numpy as np
    import pandas as pd
    from django.db import connection

    from marketdata.panel import Panel

    sql = (
        "SELECT b.instrument_id, i.symbol, b.series, b.date, b.open, b.high, b.low, b.close, b.prev_close, "
        "b.volume, b.trades FROM marketdata_dailybar b JOIN marketdata_instrument i ON i.id = b.instrument_id "
        "WHERE b.date >= %s AND b.date <= %s ORDER BY b.date, b.instrument_id"
    )
    names = ["instrument_id", "symbol", "series", "date", "open", "high", "low", "close", "prev_close"]
    with connection.cursor() as cursor:
        raw = cursor.cursor
        buffer = io.StringIO()
        raw.copy_expert(f"COPY ({raw.mogrify(sql, [start, end]).decode()}) TO STDOUT WITH (FORMAT csv)", buffer)
    buffer.seek(0)
    frame = pd.read_csv(
        buffer,
        names=[*names, "volume", "trades"],
        header=None,
        keep_default_na=False,
        na_values=[""],
        dtype={"symbol": str, "series": str},
    )
    frame["date"] = pd.to_datetime(frame["date"])
    frame["series"] = frame["series"].fillna("").astype(str)
    for column in ("open", "high", "low", "close", "prev_close", "volume", "trades"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(np.float64)
    panel = Panel.from_long(frame, key="instrument_id", instrument_ids=frame["instrument_id"])
    symbol_of = dict(zip(frame["instrument_id"].to_numpy(), frame["symbol"].to_numpy(), strict=False))
    return replace(panel, symbols=np.array([symbol_of[int(i)] for i in panel.instrument_ids], dtype=object))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="vcp_bench_read")
    parser.add_argument("--stocks", type=int, default=11_000)
    parser.add_argument("--days", type=int, default=330)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--drop", action="store_true", help="drop the database afterwards")
    args = parser.parse_args()
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith(("postgres://", "postgresql://")):
        print("bench/read_bars.py measures the PostgreSQL path: set DATABASE_URL=postgres://...", file=sys.stderr)
        return 2
    _ensure_database(base_url, args.database)
    os.environ.update(
        DATABASE_URL=_with_database(base_url, args.database),
        DJANGO_SETTINGS_MODULE="vcp_platform.settings",
        VCP_DATA_DIR=tempfile.mkdtemp(prefix="vcp-bench-read-"),
        VCP_LOG_TO_FILE="0",
        LOG_LEVEL="WARNING",
    )
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()
    import numpy as np
    from django.core.management import call_command
    from django.db import transaction

    from features import spec
    from marketdata.models import DailyBar
    from marketdata.panel import GRID_FIELDS
    from marketdata.selectors import bars_panel, market_dates

    call_command("migrate", verbosity=0)
    if not DailyBar.objects.exists():
        from marketdata.services import bars_upsert
        from marketdata.synthetic import generate_market

        started = time.perf_counter()
        market = generate_market(stocks=args.stocks, days=args.days, seed=7, end=END)
        with transaction.atomic():
            bars_upsert(frame=market.bars, exchange="NSE")
        print(f"setup: {len(market.bars):,} bars loaded in {time.perf_counter() - started:.1f} s")
        del market
    end = DailyBar.objects.latest("date").date
    dates = market_dates(end=end, count=spec.LOOKBACK + 1)
    timings: dict[str, list[float]] = {"csv": [], "binary": []}
    panels = {}
    for _ in range(args.rounds):
        for name, read in (
            ("csv", lambda: _csv_panel(dates[0], end)),
            ("binary", lambda: bars_panel(start=dates[0], end=end, active_only=False)),
        ):
            started = time.perf_counter()
            panels[name] = read()
            timings[name].append(time.perf_counter() - started)
    old, new = panels["csv"], panels["binary"]
    same = (
        np.array_equal(old.dates, new.dates)
        and np.array_equal(old.instrument_ids, new.instrument_ids)
        and all(np.array_equal(getattr(old, f), getattr(new, f), equal_nan=True) for f in GRID_FIELDS if f != "band")
    )
    load = os.getloadavg()
    bars = int(new.has_bar.sum())
    print(f"bars read: {bars:,} ({new.shape[0]} dates x {new.shape[1]:,} stocks); panels equal: {same}")
    print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    out = ROOT / "var" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "read_bars.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["metric", "value", "unit", "note"])
        for name, values in timings.items():
            median = statistics.median(values)
            print(f"  {name:<8} median {median:6.2f} s  ({', '.join(f'{v:.2f}' for v in values)})")
            writer.writerow([f"read_bars_{name}_s", f"{median:.3f}", "s", f"{bars} bars, load {load[0]:.1f}"])
        ratio = statistics.median(timings["csv"]) / statistics.median(timings["binary"])
        print(f"  binary is {ratio:.1f}x faster")
        writer.writerow(["read_bars_speedup", f"{ratio:.2f}", "x", "csv / binary, same run"])
    if args.drop:
        from django.db import connections

        connections.close_all()
        import psycopg2

        connection = psycopg2.connect(_with_database(base_url, "postgres"))
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{args.database}"')
        connection.close()
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
