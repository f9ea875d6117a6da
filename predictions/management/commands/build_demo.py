"""The whole `make demo` build in ONE process: schema, synthetic market, two models, the gated
promotion, ten scored sessions, the monitoring checks and the demo user.

Run as ten `manage.py` commands, each start (Django, pandas, the URLconf) cost 2.3-2.9 s of the
~50 s build on this machine; here the imports are paid once (docs/performance.md, "Demo"). Each step
is the same management command `make demo` used to run, with the same arguments, in the same order.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser


def demo_steps(*, stocks: int, days: int, seed: int, backfill: int) -> list[tuple[str, Sequence[str]]]:
    """(command, arguments) of every step, in order."""
    return [
        ("migrate", ["--noinput"]),
        ("sync_beat_schedule", []),
        ("generate_market", ["--stocks", str(stocks), "--days", str(days), "--seed", str(seed)]),
        ("train_model", ["--algorithm", "xgboost", "--no-progress"]),
        ("train_model", ["--algorithm", "lightgbm", "--no-progress"]),
        ("promote_model", ["--best", "--reason", "make demo: best test PR-AUC"]),
        ("score_universe", ["--backfill", str(backfill)]),
        ("check_drift", []),
        ("check_degradation", []),
        ("demo_user", []),
    ]


class Command(BaseCommand):
    help = "Build the demo in one process: migrate, synthetic market, two models, promotion, scoring, checks, user."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--stocks", type=int, default=300)
        parser.add_argument("--days", type=int, default=750)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--backfill", type=int, default=10, help="Earlier sessions to score too (default 10).")

    def handle(self, *args: Any, **options: Any) -> None:
        steps = demo_steps(
            stocks=options["stocks"], days=options["days"], seed=options["seed"], backfill=options["backfill"]
        )
        timings: list[tuple[str, float]] = []
        for number, (name, arguments) in enumerate(steps, start=1):
            label = " ".join([name, *arguments])
            self.stdout.write(f"[{number}/{len(steps)}] manage.py {label}")
            started = time.perf_counter()
            try:
                call_command(name, *arguments, stdout=self.stdout, stderr=self.stderr)
            except CommandError as exc:
                raise CommandError(f"demo step {number} ({label}) failed: {exc}") from exc
            timings.append((name, time.perf_counter() - started))
        self.stdout.write("Demo built: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in timings))
