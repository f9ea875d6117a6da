"""Roll a model name back to its previous production version: the same service as admin."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from common.commands import add_actor_argument, command_actor
from modelregistry import services
from modelregistry.choices import DEFAULT_MODEL_NAME


class Command(BaseCommand):
    help = "Roll back a model name to its previous production version (audited)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", default=DEFAULT_MODEL_NAME, help=f"Model name (default {DEFAULT_MODEL_NAME}).")
        parser.add_argument("--reason", required=True, help="Why; recorded in the promotion history.")
        add_actor_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            restored = services.model_version_rollback(
                name=options["name"], actor=command_actor(options.get("actor")), reason=options["reason"]
            )
        except services.RegistryError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"Rolled back: {restored.label} is in production again."))
