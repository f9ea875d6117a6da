"""Walk-forward validation: monthly retrain-then-predict folds, run as a group of Celery tasks."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from backtesting import selectors, services, tasks
from backtesting.management.commands._options import (
    FEATURE_SET_CHOICES,
    add_fold_arguments,
    add_report_argument,
    add_strategy_arguments,
    fold_config_from,
    strategy_from,
    write_report,
)
from backtesting.models import WalkForwardRun
from common.choices import RunStatus
from common.formatting import fmt_number, iso_date
from modelregistry.evaluation import truths_lines


class Command(BaseCommand):
    help = (
        "Walk-forward validation: --folds test windows of --test-days from --start, each model trained on the "
        "--train-days before it (purged by the label horizon, threshold and calibration from the window's tail). "
        "Features are computed once; the folds run as a group of Celery tasks (in-process without a broker). "
        "Then the out-of-sample predictions are traded with costs. Stored as a WalkForwardRun with its folds."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--algorithm", choices=["lightgbm", "xgboost"], required=True)
        parser.add_argument("--start", type=iso_date, required=True, help="First test day, YYYY-MM-DD.")
        parser.add_argument("--folds", type=int, default=36)
        parser.add_argument("--train-days", type=int, default=365, help="Calendar days of each training window.")
        parser.add_argument("--test-days", type=int, default=30, help="Calendar days of each test window.")
        parser.add_argument("--horizon", type=int, default=1, help="Label horizon, trading days.")
        parser.add_argument("--purge", type=int, default=None, help="Trading days between train and test (>= horizon).")
        parser.add_argument("--embargo", type=int, default=0, help="Trading days embargoed after each test window.")
        parser.add_argument("--feature-set", choices=FEATURE_SET_CHOICES, default="all")
        parser.add_argument("--target-f1", type=float, default=services.DEFAULT_TARGET_F1)
        parser.add_argument(
            "--ignore-threshold", action="store_true", help="Trade on --top-k alone, not on each fold's threshold."
        )
        parser.add_argument("--exchange", choices=["NSE", "BSE"], default=None)
        parser.add_argument(
            "--force", action="store_true", help="Restart a run of this configuration still marked running."
        )
        parser.add_argument("--no-wait", action="store_true", help="With workers, return once the run is enqueued.")
        parser.add_argument("--timeout", type=float, default=3600.0, help="Seconds to wait for workers.")
        add_fold_arguments(parser)
        add_strategy_arguments(parser)
        add_report_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["ignore_threshold"] and options["top_k"] is None:
            raise CommandError("--ignore-threshold needs --top-k: otherwise nothing would ever signal")
        started = time.perf_counter()
        try:
            design = services.WalkForwardDesign(
                start=options["start"],
                folds=options["folds"],
                train_days=options["train_days"],
                test_days=options["test_days"],
                horizon=options["horizon"],
                purge=options["purge"],
                embargo=options["embargo"],
            )
            run = services.walk_forward_create(
                design=design,
                fold_config=fold_config_from(
                    options, algorithm=options["algorithm"], feature_set=options["feature_set"]
                ),
                strategy=strategy_from(options, threshold=None if options["ignore_threshold"] else 0.5),
                risk_free=options["risk_free"],
                target_f1=options["target_f1"],
                exchange=options["exchange"],
                force=options["force"],
            )
        except (services.BacktestError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        tasks.walk_forward_dispatch(run_id=run.pk)
        run.refresh_from_db()
        if not run.finished and options["no_wait"]:
            self.stdout.write(
                f"Walk-forward {run.pk} is {run.status}; follow it at {reverse('staff:walk-forward', args=[run.pk])}"
            )
            return
        run = self._wait(run, timeout=options["timeout"], started=started)
        self._report(run, seconds=time.perf_counter() - started, report=options["report"])

    def _wait(self, run: WalkForwardRun, *, timeout: float, started: float) -> WalkForwardRun:
        while not run.finished:
            if time.perf_counter() - started > timeout:
                raise CommandError(f"walk-forward {run.pk} is still {run.status} after {timeout:.0f} s")
            time.sleep(2.0)
            run.refresh_from_db()
        return run

    def _report(self, run: WalkForwardRun, *, seconds: float, report: Path | None) -> None:
        summary = run.summary or {}
        f1 = summary.get("f1") or {}
        for fold in run.fold_rows.order_by("index"):
            self.stdout.write(
                f"  fold {fold.index:2d} test {fold.test_start}..{fold.test_end}: F1 {fmt_number(fold.f1)} "
                f"(hit today {fmt_number(fold.hit_today_f1)}), PR-AUC {fmt_number(fold.pr_auc)} "
                f"(hit today {fmt_number(fold.hit_today_pr_auc)}), {fold.seconds or 0:.1f} s"
                + (f" FAILED {fold.error}" if fold.status == RunStatus.FAILED else "")
            )
        trend = f1.get("trend") or {}
        self.stdout.write(
            f"Mean F1 {fmt_number(f1.get('mean'))} (std {fmt_number(f1.get('std'))}), consistency "
            f"{fmt_number(f1.get('consistency'), '{:.0%}')} of folds at F1 >= {run.target_f1}; "
            f"{trend.get('verdict', 'no trend test')}"
        )
        for line in truths_lines((run.metrics or {}).get("overall") or {}, indent=""):
            self.stdout.write(line)
        backtest = selectors.walk_forward_backtest(run=run)
        if backtest is not None and backtest.risk:
            risk = backtest.risk
            self.stdout.write(
                f"Trading the out-of-sample signals: {backtest.n_trades} trades, CAGR "
                f"{fmt_number(risk['strategy']['cagr'], '{:+.2%}')} "
                f"(buy and hold {fmt_number(risk['benchmark']['cagr'], '{:+.2%}')}), "
                f"Sharpe {fmt_number(backtest.sharpe, '{:.2f}')}, "
                f"deflated Sharpe {fmt_number(backtest.deflated_sharpe)}; "
                f"report {reverse('staff:backtest', args=[backtest.pk])}"
            )
            if report is not None:
                html, data = write_report(backtest, report)
                self.stdout.write(f"Wrote {html} and {data}")
        line = f"Walk-forward {run.pk} {run.status} in {seconds:.1f} s: {reverse('staff:walk-forward', args=[run.pk])}"
        if run.status != RunStatus.SUCCEEDED:
            raise CommandError(f"{line}\n{run.error}")
        self.stdout.write(self.style.SUCCESS(line))
