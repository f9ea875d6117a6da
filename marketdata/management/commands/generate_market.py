"""Generate the synthetic NSE market into the database, or as daily bhavcopy files with --out."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import pandas as pd
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from tqdm import tqdm

from common.formatting import as_date, iso_date
from marketdata.bhavcopy_writer import write_bhavcopies
from marketdata.calendar import end_for_start
from marketdata.choices import Exchange
from marketdata.services import UpsertCounts, bars_upsert
from marketdata.synthetic import MAX_DAYS, MAX_STOCKS, SyntheticMarket, generate_market


class Command(BaseCommand):
    help = (
        "Generate a deterministic synthetic NSE market (same seed, same bars) and upsert it into the "
        "database, or with --out write one NSE legacy bhavcopy CSV per trading day for ingest_bhavcopy."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--stocks", type=int, required=True, help=f"number of stocks, 1 to {MAX_STOCKS}")
        parser.add_argument("--days", type=int, required=True, help=f"number of XBOM sessions, 1 to {MAX_DAYS}")
        parser.add_argument("--seed", type=int, required=True, help="random seed (>= 0); same seed, same market")
        parser.add_argument(
            "--start",
            type=iso_date,
            help="first session, YYYY-MM-DD (default: the market ends on the last session before today)",
        )
        parser.add_argument("--out", type=Path, help="write daily cmDDMONYYYYbhav.csv files here instead of the DB")

    def handle(self, *args: Any, **options: Any) -> None:
        stocks, days, seed = options["stocks"], options["days"], options["seed"]
        if not 1 <= stocks <= MAX_STOCKS:
            raise CommandError(f"--stocks must be between 1 and {MAX_STOCKS}, got {stocks}")
        if not 1 <= days <= MAX_DAYS:
            raise CommandError(f"--days must be between 1 and {MAX_DAYS}, got {days}")
        if seed < 0:
            raise CommandError(f"--seed must be >= 0, got {seed}")
        out: Path | None = options["out"]
        if out is not None and out.exists() and not out.is_dir():
            raise CommandError(f"--out {out} exists and is not a directory")
        end = None
        start = as_date(options["start"], option="--start")
        if start is not None:
            try:
                end = end_for_start(start=start, days=days)
            except ValueError as exc:
                raise CommandError(f"--start: {exc}") from exc
            if end >= dt.date.today():
                raise CommandError(
                    f"--start {options['start']} with --days {days} runs to {end}, past today: "
                    "pick an earlier --start or fewer --days"
                )

        started = time.perf_counter()
        market = generate_market(stocks=stocks, days=days, seed=seed, end=end)
        show = options["verbosity"] > 0
        if out is None:
            counts = _market_upsert(market, progress=show)
            written = f"inserted {counts.inserted}, updated {counts.updated}, unchanged {counts.unchanged}"
        else:
            with tqdm(total=len(market.dates), unit="files", desc="bhavcopies", disable=not show) as bar:
                paths = write_bhavcopies(market.bars, out_dir=out, on_file=lambda _: bar.update(1))
            written = f"wrote {len(paths)} files to {out} (load them with: manage.py ingest_bhavcopy {out})"
        rate = market.upper_circuit_rate()
        first, last = pd.Timestamp(market.dates[0]).date(), pd.Timestamp(market.dates[-1]).date()
        self.stdout.write(
            self.style.SUCCESS(
                f"Synthetic market (seed {seed}): {stocks} stocks, {days} days ({first} to {last}), "
                f"{len(market.bars)} bars, upper-circuit rate {rate:.2%} (inferred bands); {written}; "
                f"{time.perf_counter() - started:.1f} s"
            )
        )


def _market_upsert(market: SyntheticMarket, *, progress: bool) -> UpsertCounts:
    """All bars in one transaction and one ``bars_upsert`` (a big market gets its bulk window), so a
    failure leaves the database as it was."""
    bars = market.bars
    with (
        transaction.atomic(),
        tqdm(total=len(bars), unit="bars", unit_scale=True, desc="upsert", disable=not progress) as bar,
    ):
        return bars_upsert(frame=bars, exchange=Exchange.NSE, progress=bar.update)
