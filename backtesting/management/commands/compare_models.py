"""Compare two models on the same test days: side-by-side metrics, McNemar's test, a PR-AUC interval."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from backtesting import services
from backtesting.management.commands._options import FEATURE_SET_CHOICES, add_fold_arguments, fold_config_from
from backtesting.report import COMPARED, comparison_rows
from common.formatting import iso_date
from modelregistry.models import ModelVersion


class Command(BaseCommand):
    help = (
        "Compare two registered versions (--versions A B), two algorithms trained on the same window "
        "(--algorithms xgboost lightgbm) or two feature sets (--feature-sets all vcp_only) on the same test days "
        "--start..--end: metrics side by side, McNemar's test on their decisions and a day-bootstrap interval "
        "of the PR-AUC difference. Stored as a ComparisonRun."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--versions", type=int, nargs=2, metavar=("A", "B"), help="Two ModelVersion ids.")
        who.add_argument("--algorithms", nargs=2, choices=["lightgbm", "xgboost"], metavar=("A", "B"))
        who.add_argument("--feature-sets", nargs=2, choices=FEATURE_SET_CHOICES, metavar=("A", "B"))
        parser.add_argument(
            "--algorithm",
            choices=["lightgbm", "xgboost"],
            default="lightgbm",
            help="The algorithm of both sides with --feature-sets.",
        )
        parser.add_argument(
            "--feature-set",
            choices=FEATURE_SET_CHOICES,
            default="all",
            help="The feature set of both sides with --algorithms.",
        )
        parser.add_argument("--start", type=iso_date, required=True, help="First test day, YYYY-MM-DD.")
        parser.add_argument("--end", type=iso_date, required=True, help="Last test day, YYYY-MM-DD.")
        parser.add_argument(
            "--train-days", type=int, default=365, help="Training window before --start (trained sides)."
        )
        parser.add_argument("--n-boot", type=int, default=1000, help="Bootstrap resamples of whole days.")
        parser.add_argument("--exchange", choices=["NSE", "BSE"], default=None)
        parser.add_argument("--force", action="store_true")
        add_fold_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["versions"]:
            found = {v.pk: v for v in ModelVersion.objects.filter(pk__in=options["versions"])}
            missing = [pk for pk in options["versions"] if pk not in found]
            if missing:
                raise CommandError(f"No model version with id {missing}; run list_models to see ids.")
            a, b = (services.Contender(version=found[pk]) for pk in options["versions"])
        elif options["algorithms"]:
            a, b = (
                services.Contender(algorithm=alg, feature_set=options["feature_set"]) for alg in options["algorithms"]
            )
        else:
            a, b = (
                services.Contender(algorithm=options["algorithm"], feature_set=fs) for fs in options["feature_sets"]
            )
        try:
            run = services.comparison_run(
                a=a,
                b=b,
                start=options["start"],
                end=options["end"],
                train_days=options["train_days"],
                fold_config=fold_config_from(
                    options, algorithm=options["algorithm"], feature_set=options["feature_set"]
                ),
                n_boot=options["n_boot"],
                exchange=options["exchange"],
                force=options["force"],
            )
        except (services.BacktestError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Comparison {run.pk} ({run.get_kind_display()}), test days {run.start} to {run.end}, "
                f"{run.counts['rows']:,} stock-days, {run.seconds:.1f} s"
            )
        )
        width = max(len(label) for *_, label in COMPARED)
        self.stdout.write(f"  {'':{width}}  {'A':>8}  {'B':>8}   A: {run.label_a}; B: {run.label_b}")
        for row in comparison_rows(run):
            a_value, b_value = (("-" if v is None else f"{v:.4f}") for v in (row["a"], row["b"]))
            self.stdout.write(f"  {row['label']:{width}}  {a_value:>8}  {b_value:>8}")
        self.stdout.write(f"  McNemar: {run.mcnemar['verdict']}")
        self.stdout.write(f"  Bootstrap: {run.bootstrap['verdict']}")
        self.stdout.write(f"  page: {reverse('staff:comparison', args=[run.pk])}")
