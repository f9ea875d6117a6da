"""python manage.py check_drift [--date D] [--window-days N]: the drift check, from the command line."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from modelregistry.choices import DEFAULT_MODEL_NAME
from monitoring import services


class Command(BaseCommand):
    help = (
        "PSI and KS of the production model's features (feature snapshots up to --date, default the latest) "
        "against its frozen training reference; stores a DriftReport and raises 'retrain needed' on ALERT."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", type=dt.date.fromisoformat, help="YYYY-MM-DD; default: the latest snapshots.")
        parser.add_argument("--window-days", type=int, help="Snapshot dates to pool (default VCP_DRIFT_WINDOW_DAYS).")
        parser.add_argument("--name", default=DEFAULT_MODEL_NAME, help="Model name (default %(default)s).")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["window_days"] is not None and options["window_days"] < 1:
            raise CommandError("--window-days must be at least 1")
        try:
            report = services.drift_check(
                name=options["name"], date=options["date"], window_days=options["window_days"]
            )
        except services.MonitoringError as exc:
            raise CommandError(str(exc)) from exc
        if report is None:
            self.stdout.write(f"No version of {options['name']!r} is in production: nothing to check.")
            return
        result = report.drift_result()
        self.stdout.write(
            f"{report.model_version.label} {report.window_start}..{report.date}: {report.status.upper()} "
            f"({report.n_current} rows, max PSI {report.max_psi:.3f}"
            + (", retrain needed" if report.retrain_needed else "")
            + ")"
        )
        for feature in sorted(result.features, key=lambda f: -f.psi)[:10]:
            ks = "-" if feature.ks_statistic != feature.ks_statistic else f"{feature.ks_statistic:.3f}"
            self.stdout.write(
                f"  {feature.name:<28} PSI {feature.psi:7.4f}  noise limit {feature.psi_critical:7.4f}  "
                f"KS {ks}  {feature.status.value}"
            )
