"""Promote a model version to production: the same service as the admin action."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from modelregistry import services
from modelregistry.models import ModelVersion


class Command(BaseCommand):
    help = "Promote a model version to production (audited; the old production version becomes the rollback target)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--model-version", type=int, required=True, help="ModelVersion id (see list_models).")
        parser.add_argument("--reason", required=True, help="Why; recorded in the promotion history.")

    def handle(self, *args: Any, **options: Any) -> None:
        version = ModelVersion.objects.filter(pk=options["model_version"]).first()
        if version is None:
            raise CommandError(f"No model version with id {options['model_version']}; run list_models to see ids.")
        try:
            promoted = services.model_version_promote(version=version, actor=None, reason=options["reason"])
        except services.RegistryError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"{promoted.label} is now in production."))
