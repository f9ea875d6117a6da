"""Promote a model version to production: the same service as the admin action."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from modelregistry import services
from modelregistry.choices import DEFAULT_MODEL_NAME, VersionStatus
from modelregistry.models import ModelVersion


def best_candidate(*, name: str, metric: str) -> ModelVersion | None:
    """The candidate of ``name`` with the highest test ``metric`` (all stock-days)."""
    candidates = list(ModelVersion.objects.filter(name=name, status=VersionStatus.CANDIDATE))
    scored = [(v.metric(metric), v.version, v) for v in candidates if v.metric(metric) is not None]
    return max(scored, key=lambda item: (item[0], item[1]))[2] if scored else None


class Command(BaseCommand):
    help = "Promote a model version to production (audited; the old production version becomes the rollback target)."

    def add_arguments(self, parser: CommandParser) -> None:
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--model-version", type=int, help="ModelVersion id (see list_models).")
        target.add_argument(
            "--best", action="store_true", help="The candidate with the highest test --metric (PR-AUC by default)."
        )
        parser.add_argument("--name", default=DEFAULT_MODEL_NAME, help="Model name, with --best.")
        parser.add_argument("--metric", default="pr_auc", choices=["pr_auc", "f1", "precision_at_k", "roc_auc"])
        parser.add_argument("--reason", required=True, help="Why; recorded in the promotion history.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["best"]:
            version = best_candidate(name=options["name"], metric=options["metric"])
            if version is None:
                raise CommandError(
                    f"{options['name']!r} has no candidate with a test {options['metric']}; train one with train_model."
                )
        else:
            version = ModelVersion.objects.filter(pk=options["model_version"]).first()
            if version is None:
                raise CommandError(f"No model version with id {options['model_version']}; run list_models to see ids.")
        try:
            promoted = services.model_version_promote(version=version, actor=None, reason=options["reason"])
        except services.RegistryError as exc:
            raise CommandError(str(exc)) from exc
        value = promoted.metric(options["metric"])
        self.stdout.write(
            self.style.SUCCESS(
                f"{promoted.label} ({promoted.algorithm}, test {options['metric']} "
                f"{'-' if value is None else f'{value:.3f}'}) is now in production."
            )
        )
