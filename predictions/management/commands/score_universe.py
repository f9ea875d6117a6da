"""Score every active instrument as of a date: the same service as the daily Celery task."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from predictions import services
from predictions.choices import BatchStatus
from predictions.exceptions import PredictionError
from predictions.models import BatchRun
from vcp_platform.cli import as_date, iso_date


class Command(BaseCommand):
    help = (
        "Score the universe as of --date (default: the latest stored date) with the production model: "
        "Prediction and FeatureSnapshot rows, a CSV export and a BatchRun. Reruns resume without duplicates."
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

    def handle(self, *args: Any, **options: Any) -> None:
        chunk_size = options["chunk_size"]
        if chunk_size is not None and chunk_size < 1:
            raise CommandError("--chunk-size must be at least 1.")
        try:
            run = services.score_universe(
                date=as_date(options["date"], option="--date"), chunk_size=chunk_size, inline=not options["workers"]
            )
        except PredictionError as exc:
            raise CommandError(exc.message) from exc
        run = self._wait(run, timeout=options["timeout"])
        if run.status != BatchStatus.SUCCEEDED:
            raise CommandError(f"Batch run {run.pk} for {run.date} ended {run.status}: {run.error or 'still running'}")
        timings = ", ".join(f"{k} {v:.2f}s" for k, v in run.timings.items())
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
        while run.status == BatchStatus.RUNNING and time.monotonic() < deadline:
            time.sleep(0.5)
            run.refresh_from_db()
        return run
