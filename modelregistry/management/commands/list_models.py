"""List registered model versions with their status and headline test metrics."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from modelregistry.models import ModelVersion


def _fmt(value: float | None) -> str:
    return "    -" if value is None else f"{value:.3f}"


class Command(BaseCommand):
    help = "List model versions: id, name, version, algorithm, status, test F1 / PR-AUC and the 'hit today' baseline."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", help="Only this model name.")

    def handle(self, *args: Any, **options: Any) -> None:
        qs = ModelVersion.objects.all().order_by("name", "version")
        if options.get("name"):
            qs = qs.filter(name=options["name"])
        header = (
            f"{'id':>4}  {'name':<16} {'ver':>4}  {'algorithm':<9} {'status':<10} {'F1':>6} {'PR-AUC':>6} "
            f"{'base':>6}  training window"
        )
        self.stdout.write(header)
        for v in qs:
            self.stdout.write(
                f"{v.pk:>4}  {v.name:<16} {v.version:>4}  {v.algorithm:<9} {v.status:<10} "
                f"{_fmt(v.metric('f1')):>6} {_fmt(v.metric('pr_auc')):>6} "
                f"{_fmt(v.metric('pr_auc', scorer='hit_today')):>6}  {v.train_start}..{v.train_end}"
            )
        if not qs.exists():
            self.stdout.write("No model versions yet: run `manage.py train_model` first.")
