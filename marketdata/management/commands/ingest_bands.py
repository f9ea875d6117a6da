"""Load exchange price-band files into the band history the labels and features read as of a date."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from common.formatting import as_date, iso_date
from marketdata import services
from marketdata.bandfiles import BandFileError


class Command(BaseCommand):
    help = (
        "Load NSE price-band lists (sec_list_DDMMYYYY.csv), NSE band changes (eq_band_changes_DDMMYYYY.csv) or "
        "BSE circuit filter lists into the PriceBand history. A file with an impossible band or an unknown "
        "symbol is refused whole; loading a file again changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", type=Path, help="Band files.")
        parser.add_argument(
            "--effective-from", type=iso_date, help="Date the bands apply from (default: the date in the file name)."
        )
        parser.add_argument(
            "--skip-unknown", action="store_true", help="Load the known symbols and list the unknown ones."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        failed = []
        for path in options["paths"]:
            try:
                load = services.price_bands_ingest(
                    path=path,
                    effective_from=as_date(options["effective_from"], option="--effective-from"),
                    skip_unknown=options["skip_unknown"],
                )
            except BandFileError as exc:
                failed.append(path)
                self.stderr.write(self.style.ERROR(f"{path}: {exc}"))
                continue
            self.stdout.write(
                self.style.SUCCESS(
                    f"{path}: {load.layout}, {load.rows} bands: {load.inserted} new, {load.updated} changed, "
                    f"{load.unchanged} unchanged"
                )
                + (f"; skipped unknown symbols {', '.join(load.skipped_unknown[:10])}" if load.skipped_unknown else "")
            )
        if failed:
            raise CommandError(f"{len(failed)} of {len(options['paths'])} band files were refused; see above.")
