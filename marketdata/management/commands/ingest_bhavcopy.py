"""Load bhavcopy files (files, folders or zips) into Instrument and DailyBar."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from common.formatting import iso_date
from marketdata.choices import Exchange
from marketdata.services import bars_ingest


class Command(BaseCommand):
    help = (
        "Load daily bhavcopy files (NSE legacy/full/UDiFF, BSE equity, normalised Parquet/CSV) into "
        "Instrument and DailyBar: one transaction per file, idempotent. Prints one line per file; "
        "exits non-zero when any file failed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", metavar="PATH", help="File, folder or .zip archive.")
        parser.add_argument(
            "--skip-bad",
            action="store_true",
            help="Load the good rows of a file with bad ones, writing the bad rows to a rejects CSV.",
        )
        parser.add_argument(
            "--date", type=iso_date, default=None, help="Trading date for files without one (BSE), YYYY-MM-DD."
        )
        parser.add_argument(
            "--exchange", choices=Exchange.values, default=None, help="Exchange of a normalised file (default NSE)."
        )
        parser.add_argument(
            "--force", action="store_true", help="Reload files whose bytes were already ingested successfully."
        )
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar on large files.")

    def handle(self, *args: Any, **options: Any) -> None:
        failed = 0
        total = 0
        for path in options["paths"]:
            results = bars_ingest(
                path=path,
                skip_bad=options["skip_bad"],
                trade_date=options["date"],
                exchange=options["exchange"],
                progress=not options["no_progress"],
                force=options["force"],
            )
            for result in results:
                total += 1
                if result.ok:
                    self.stdout.write(result.summary())
                else:
                    failed += 1
                    self.stderr.write(result.summary())
        if failed:
            raise CommandError(f"{failed} of {total} files failed; see the lines above (and IngestRun) for why")
