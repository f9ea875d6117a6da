"""Download a day's equity bhavcopies from the exchanges' archives into the inbox: the daily task's service."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from common.choices import RunStatus
from common.formatting import as_date, iso_date
from common.tasks import session_skip_reason
from marketdata import services
from marketdata.choices import Exchange
from marketdata.sessions import is_trading_session


class Command(BaseCommand):
    help = (
        "Download --date's (default today, IST) equity bhavcopy of each exchange (VCP_FETCH_EXCHANGES, or "
        "--exchange) into VCP_DATA_DIR/inbox, retrying with backoff until --deadline; one FetchRun per exchange "
        "and day. A day already fetched is left alone. A --date that is no trading session records SKIPPED "
        "runs, as the daily task does. Exits non-zero when a file could not be fetched."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", type=iso_date, help="Trading date, YYYY-MM-DD (default: today in India).")
        parser.add_argument("--exchange", choices=Exchange.values, help="One exchange (default: VCP_FETCH_EXCHANGES).")
        parser.add_argument(
            "--deadline",
            type=float,
            default=None,
            help="Seconds to keep retrying a file that is not there yet (default VCP_FETCH_DEADLINE_SECONDS).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        day = as_date(options["date"], option="--date") or timezone.localdate()
        exchanges = [options["exchange"]] if options["exchange"] else list(settings.VCP_FETCH_EXCHANGES)
        reason = session_skip_reason(day, is_session=is_trading_session)
        if reason is not None:
            for exchange in exchanges:
                run = services.fetch_run_skip(day=day, reason=reason, exchanges=[exchange])
                record = getattr(run, "pk", "-")
                self.stdout.write(self.style.WARNING(f"{exchange} {day}: skipped (run {record}): {reason}."))
            return
        runs = services.bhavcopy_fetch(day=day, exchanges=exchanges, deadline_seconds=options["deadline"])
        failed = 0
        for run in runs:
            if run.status == RunStatus.SUCCEEDED:
                line = f"{run.exchange} {day}: {run.path} ({run.size} bytes; {run.note})"
                self.stdout.write(self.style.SUCCESS(line))
            else:
                failed += 1
                self.stderr.write(f"{run.exchange} {day}: {run.status}: {run.error}")
        if failed:
            raise CommandError(f"{failed} of {len(runs)} files could not be fetched; see above (and FetchRun)")
