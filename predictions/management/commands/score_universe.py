"""Score every active instrument as of a date: the same services as the daily Celery task."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from common.choices import RunStatus
from common.formatting import as_date, iso_date
from common.tasks import session_skip_reason
from marketdata.selectors import latest_bar_date, market_dates
from marketdata.sessions import is_trading_session
from modelregistry.artifacts import ArtifactIntegrityError
from predictions import services, tasks
from predictions.exceptions import PredictionError
from predictions.models import BatchRun


class Command(BaseCommand):
    help = (
        "Score the universe as of --date (default: the latest stored date) with the production model: "
        "Prediction and FeatureSnapshot rows, a CSV export and a BatchRun. Reruns resume without duplicates. "
        "A --date that is no trading session records a SKIPPED run, as the daily task does."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", type=iso_date, help="As-of date, YYYY-MM-DD (default: the latest stored date).")
        parser.add_argument("--chunk-size", type=int, help="Instruments per chunk (default VCP_SCORE_CHUNK_SIZE).")
        parser.add_argument(
            "--workers",
            action="store_true",
            help="Fan the chunks out to the Celery workers instead of scoring them in this process.",
        )
        parser.add_argument(
            "--timeout", type=float, default=1800.0, help="With --workers: seconds to wait for the run to finish."
        )
        parser.add_argument(
            "--backfill",
            type=int,
            default=0,
            metavar="N",
            help=(
                "Also score the N stored sessions before the date, oldest first, each as its own run: the "
                "degradation check then has labelled days to measure (a new deployment, the demo). Default 0."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        chunk_size = options["chunk_size"]
        if chunk_size is not None and chunk_size < 1:
            raise CommandError("--chunk-size must be at least 1.")
        if options["backfill"] < 0:
            raise CommandError("--backfill must be 0 or a positive number of sessions.")
        day = as_date(options["date"], option="--date")
        if options["backfill"]:
            end = day or latest_bar_date()
            if end is None:
                raise CommandError("No bars stored: ingest bhavcopy files or run generate_market first.")
            for earlier in market_dates(end=end, count=options["backfill"] + 1)[:-1]:
                self._score(earlier, options)
        self._score(day, options)

    def _score(self, day: dt.date | None, options: dict[str, Any]) -> None:
        chunk_size = options["chunk_size"]
        reason = session_skip_reason(day, is_session=is_trading_session) if day is not None else None
        if day is not None and reason is not None:
            run = services.batch_run_skip(day=day, reason=reason)
            self.stdout.write(self.style.WARNING(f"Batch run {run.pk} for {day} skipped: {reason}."))
            return
        try:
            if options["workers"]:
                plan = services.batch_run_start(date=day, chunk_size=chunk_size)
                tasks.batch_run_dispatch(batch_run_id=plan.run.pk, chunks=plan.chunks)
                run = self._wait(plan.run, timeout=options["timeout"])
            else:
                run = services.batch_run_inline(date=day, chunk_size=chunk_size)
        except PredictionError as exc:
            raise CommandError(exc.message) from exc
        except (ArtifactIntegrityError, FileNotFoundError) as exc:
            # The run is recorded FAILED with the reason; the operator gets one line, not a traceback.
            raise CommandError(f"The production model cannot be used: {exc}. Roll back or re-register it.") from exc
        if run.status != RunStatus.SUCCEEDED:
            raise CommandError(f"Batch run {run.pk} for {run.date} ended {run.status}: {run.error or 'still running'}")
        timings = ", ".join(f"{k} {v:.2f}s" for k, v in run.timings.items() if v is not None)
        self.stdout.write(
            self.style.SUCCESS(
                f"Batch run {run.pk} for {run.date}: scored {run.scored} of {run.instruments} instruments "
                f"({run.resumed} already scored) in {run.chunks_total} chunks."
            )
        )
        self.stdout.write(f"Stages: {timings}")
        self.stdout.write(f"Export: {run.export_path}")

    def _wait(self, run: BatchRun, *, timeout: float) -> BatchRun:
        deadline = time.monotonic() + timeout
        run.refresh_from_db()
        while run.status == RunStatus.RUNNING and time.monotonic() < deadline:
            time.sleep(0.5)
            run.refresh_from_db()
        return run
