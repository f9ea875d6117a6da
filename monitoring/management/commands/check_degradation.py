"""python manage.py check_degradation [--date D]: realised F1 vs test F1, alert or automatic rollback."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from common.commands import add_actor_argument, command_actor
from common.formatting import fmt_number
from modelregistry.choices import DEFAULT_MODEL_NAME
from monitoring import services


class Command(BaseCommand):
    help = (
        "Join the production model's past predictions to realised labels from the stored bars, compute "
        "realised F1 over the rolling window and alert (> 5% drop) or roll back automatically (> 10% drop)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--date", type=dt.date.fromisoformat, help="As-of date (YYYY-MM-DD); default the latest bars."
        )
        parser.add_argument(
            "--window-days", type=int, help="Labelled prediction dates (default VCP_DEGRADATION_WINDOW_DAYS)."
        )
        parser.add_argument("--min-positives", type=int, help="Realised positives needed before any action.")
        parser.add_argument("--name", default=DEFAULT_MODEL_NAME, help="Model name (default %(default)s).")
        add_actor_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["window_days"] is not None and options["window_days"] < 1:
            raise CommandError("--window-days must be at least 1")
        try:
            report = services.degradation_check(
                name=options["name"],
                as_of=options["date"],
                window_days=options["window_days"],
                min_positives=options["min_positives"],
                actor=command_actor(options.get("actor")),
            )
        except services.MonitoringError as exc:
            raise CommandError(str(exc)) from exc
        if report is None:
            self.stdout.write(f"No version of {options['name']!r} is in production: nothing to check.")
            return
        self.stdout.write(
            f"{report.model_version.label} as of {report.as_of}: realised F1 {fmt_number(report.f1)} "
            f"(precision {fmt_number(report.precision)}, recall {fmt_number(report.recall)}, "
            f"{report.positives} positives "
            f"over {report.labelled_dates} days) vs test F1 {fmt_number(report.reference_f1)}"
        )
        self.stdout.write(
            f"  lift over 'hit today': PR-AUC {fmt_number(report.pr_auc_lift)} "
            f"(model {fmt_number(report.model_pr_auc)} vs {fmt_number(report.naive_pr_auc)}; "
            f"test {fmt_number(report.reference_pr_auc_lift)}), precision@k {fmt_number(report.precision_at_k_lift)} "
            f"(test {fmt_number(report.reference_precision_at_k_lift)}); dropped in {report.drops_in_last_n} "
            "of the last checks"
        )
        if report.shadow.get("target"):
            shadow = report.shadow
            compared = (
                f": PR-AUC {fmt_number(shadow.get('target_pr_auc'))} vs {fmt_number(shadow.get('production_pr_auc'))}, "
                f"interval {fmt_number(shadow.get('low'))}..{fmt_number(shadow.get('high'))}"
                if "low" in shadow
                else ""
            )
            self.stdout.write(
                f"  shadow {shadow['target']} scored on {shadow['shadow_days']} of {shadow['window_days']} "
                f"days{compared}"
            )
        if report.estimated_f1 is not None:
            self.stdout.write(
                f"  ESTIMATE for {report.estimated_for} (no labels yet): F1 ~ {fmt_number(report.estimated_f1)} "
                f"from calibrated probabilities"
            )
        self.stdout.write(f"  action: {report.action} ({report.reason})")
        if report.rolled_back_to is not None:
            self.stdout.write(f"  rolled back to {report.rolled_back_to.label}")
