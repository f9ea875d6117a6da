"""Backtest a registered model version over a period: metrics per year and quarter, and trading with costs."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from backtesting import services
from backtesting.management.commands._options import (
    add_report_argument,
    add_strategy_arguments,
    strategy_from,
    write_report,
)
from common.formatting import fmt_number, iso_date
from modelregistry.evaluation import truths_lines
from modelregistry.models import ModelVersion


class Command(BaseCommand):
    help = (
        "Score a model version on every stock-day from --start to --end, report F1, precision, recall, PR-AUC "
        "and precision@k per year and quarter next to the naive baselines, and simulate trading its signals "
        "with Indian costs against an equal-weight buy-and-hold. Stored as a BacktestRun (same configuration, "
        "same row)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--model-version", type=int, required=True, help="ModelVersion id (see list_models).")
        parser.add_argument("--start", type=iso_date, required=True, help="First scored day, YYYY-MM-DD.")
        parser.add_argument("--end", type=iso_date, required=True, help="Last scored day, YYYY-MM-DD.")
        parser.add_argument("--threshold", type=float, default=None, help="Signal threshold (default: the version's).")
        parser.add_argument("--exchange", choices=["NSE", "BSE"], default=None)
        parser.add_argument(
            "--force", action="store_true", help="Restart a run of this configuration still marked running."
        )
        add_strategy_arguments(parser)
        add_report_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        version = ModelVersion.objects.filter(pk=options["model_version"]).first()
        if version is None:
            raise CommandError(f"No model version with id {options['model_version']}; run list_models to see ids.")
        threshold = options["threshold"] if options["threshold"] is not None else version.threshold
        try:
            strategy = strategy_from(options, threshold=threshold)
            run = services.backtest_run(
                version=version,
                start=options["start"],
                end=options["end"],
                strategy=strategy,
                risk_free=options["risk_free"],
                exchange=options["exchange"],
                force=options["force"],
            )
        except (services.BacktestError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        overall = run.metrics["overall"]
        model, hit = overall["all"]["model"], overall["all"]["baselines"]["hit_today"]
        strategy_risk, bench = run.risk["strategy"], run.risk["benchmark"]
        self.stdout.write(
            self.style.SUCCESS(
                f"Backtest {run.pk} of {version.label}, {run.start} to {run.end} ({run.seconds:.1f} s): "
                f"{run.counts['rows']:,} stock-days scored."
            )
        )
        for period in run.metrics["year"]:
            m, h = period["all"]["model"], period["all"]["baselines"]["hit_today"]
            self.stdout.write(
                f"  {period['period']}: F1 {fmt_number(m['f1'])} (hit today {fmt_number(h['f1'])}), "
                f"PR-AUC {fmt_number(m['pr_auc'])} (hit today {fmt_number(h['pr_auc'])})"
            )
        self.stdout.write(
            f"  all: F1 {fmt_number(model['f1'])} (hit today {fmt_number(hit['f1'])}), "
            f"PR-AUC {fmt_number(model['pr_auc'])} "
            f"(hit today {fmt_number(hit['pr_auc'])}), new circuits PR-AUC "
            f"{fmt_number(overall['new_circuits']['model']['pr_auc'])}"
        )
        for line in truths_lines(overall):
            self.stdout.write(line)
        self.stdout.write(
            f"  trading: {run.n_trades} trades, CAGR {fmt_number(strategy_risk['cagr'], '{:+.2%}')} "
            f"(buy and hold {fmt_number(bench['cagr'], '{:+.2%}')}), Sharpe {fmt_number(run.sharpe, '{:.2f}')}, "
            f"deflated Sharpe {fmt_number(run.deflated_sharpe)} over {run.risk['trials']} trial(s), "
            f"max drawdown {fmt_number(strategy_risk['max_drawdown'], '{:.1%}')}"
        )
        self.stdout.write(f"  report: {reverse('staff:backtest', args=[run.pk])}")
        if options["report"] is not None:
            html, data = write_report(run, options["report"])
            self.stdout.write(f"  wrote {html} and {data}")
