"""python manage.py replay_monitoring --start D --end D: the nightly checks over history, writing nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from modelregistry.choices import DEFAULT_MODEL_NAME
from modelregistry.models import ModelVersion
from modelregistry.selectors import model_version_production
from monitoring.replay import CIRCUIT_HISTORY, Injection, ReplayError, format_table, replay_monitoring, summary_lines


class Command(BaseCommand):
    help = (
        "Replay the nightly drift and degradation checks over --start..--end exactly as the jobs decide, "
        "with the production version (or --model-version) serving and its rollback target scored in shadow. "
        "Writes no alert and rolls nothing back; prints a day-by-day table and a summary."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--start", type=dt.date.fromisoformat, required=True, help="First session, YYYY-MM-DD.")
        parser.add_argument("--end", type=dt.date.fromisoformat, required=True, help="Last session, YYYY-MM-DD.")
        parser.add_argument(
            "--model-version", type=int, help="Version number to replay, as list_models shows (default: production)."
        )
        parser.add_argument("--name", default=DEFAULT_MODEL_NAME, help="Model name (default %(default)s).")
        parser.add_argument(
            "--inject-start",
            type=dt.date.fromisoformat,
            help="Serve a worse model from this session: production with the circuit-history features blanked.",
        )
        parser.add_argument("--inject-sessions", type=int, default=15, help="Sessions of injected scores (15).")
        parser.add_argument("--summary-only", action="store_true", help="Print the summary without the daily table.")

    def handle(self, *args: Any, **options: Any) -> None:
        start, end = options["start"], options["end"]
        if start > end:
            raise CommandError(f"--start {start} is after --end {end}.")
        if options["inject_sessions"] < 1:
            raise CommandError("--inject-sessions must be at least 1.")
        version = self._version(options["name"], options["model_version"])
        injection = (
            Injection(start=options["inject_start"], sessions=options["inject_sessions"], blank=CIRCUIT_HISTORY)
            if options["inject_start"]
            else None
        )
        try:
            result = replay_monitoring(
                start=start, end=end, production=version, injection=injection, progress=options["verbosity"] > 1
            )
        except ReplayError as exc:
            raise CommandError(str(exc)) from exc
        if not options["summary_only"]:
            for line in format_table(result):
                self.stdout.write(line)
        for line in summary_lines(result):
            self.stdout.write(line)

    def _version(self, name: str, number: int | None) -> ModelVersion:
        if number is None:
            version = model_version_production(name=name)
            if version is None:
                raise CommandError(f"No version of {name!r} is in production: pass --model-version N.")
            return version
        found = ModelVersion.objects.filter(name=name, version=number).first()
        if found is None:
            raise CommandError(f"{name!r} has no version {number}: see manage.py list_models.")
        return found
