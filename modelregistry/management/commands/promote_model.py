"""Promote a model version to production: the same service as the admin action."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from common.commands import add_actor_argument, command_actor
from modelregistry import selectors, services
from modelregistry.choices import DEFAULT_MODEL_NAME


class Command(BaseCommand):
    help = "Promote a model version to production (audited; the old production version becomes the rollback target)."

    def add_arguments(self, parser: CommandParser) -> None:
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--model-version", type=int, help="ModelVersion id (see list_models).")
        target.add_argument(
            "--best",
            action="store_true",
            help=(
                "The candidate with the highest test --metric (PR-AUC by default), promoted only if it passes the "
                "gate: lift over 'hit today' on the latest --sessions neither model trained on, with a day-block "
                "bootstrap interval above zero, and no worse than production there. A refusal is recorded."
            ),
        )
        parser.add_argument(
            "--sessions", type=int, default=60, help="With --best: the gate's window of unseen sessions (default 60)."
        )
        parser.add_argument("--name", default=DEFAULT_MODEL_NAME, help="Model name, with --best.")
        parser.add_argument("--metric", default="pr_auc", choices=["pr_auc", "f1", "precision_at_k", "roc_auc"])
        parser.add_argument("--reason", required=True, help="Why; recorded in the promotion history.")
        add_actor_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["best"]:
            version = selectors.model_version_best_candidate(name=options["name"], metric=options["metric"])
            if version is None:
                raise CommandError(
                    f"{options['name']!r} has no candidate with a test {options['metric']}; train one with train_model."
                )
        else:
            version = selectors.model_version_get(pk=options["model_version"])
            if version is None:
                raise CommandError(f"No model version with id {options['model_version']}; run list_models to see ids.")
        actor = command_actor(options.get("actor"))
        try:
            if options["best"]:
                if options["sessions"] < 1:
                    raise CommandError("--sessions must be a positive number of sessions.")
                self.stdout.write(f"Gate: scoring {version.label} and production on the latest unseen sessions...")
                promoted, verdict = services.model_version_promote_gated(
                    version=version, actor=actor, reason=options["reason"], sessions=options["sessions"]
                )
                if not verdict.passed:
                    raise CommandError(f"{verdict.reason} (recorded in the promotion history)")
                self.stdout.write(verdict.reason)
            else:
                promoted = services.model_version_promote(version=version, actor=actor, reason=options["reason"])
        except services.RegistryError as exc:
            raise CommandError(str(exc)) from exc
        value = promoted.metric(options["metric"])
        self.stdout.write(
            self.style.SUCCESS(
                f"{promoted.label} ({promoted.algorithm}, test {options['metric']} "
                f"{'-' if value is None else f'{value:.3f}'}) is now in production."
            )
        )
