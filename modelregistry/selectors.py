"""Reads of the model registry: the one place that answers "which version is in production?".

Every caller (serving, batch scoring, monitoring, admin, commands) asks here. The per-process
loader adds a hot-reload cache on top of ``model_version_production_id``; it does not query itself.
"""

from __future__ import annotations

from django.db.models import QuerySet

from modelregistry.choices import DEFAULT_MODEL_NAME, VersionStatus
from modelregistry.models import ModelVersion

# Large JSON fields that lists and lookups on the hot path never need (the drift reference alone is
# hundreds of KB per version).
HEAVY_FIELDS: tuple[str, ...] = ("reference", "training_config")


def model_version_heavy_fields(*, via: str = "model_version", metrics: bool = True) -> tuple[str, ...]:
    """``defer()`` paths of a related ModelVersion's large JSON, for querysets that select_related it
    through ``via``: every list of predictions, runs and reports (a 500-row page pulled the 447 KB drift
    reference once per row, issue 14). ``metrics=False`` keeps the metrics a list shows."""
    fields = (*HEAVY_FIELDS, "metrics") if metrics else HEAVY_FIELDS
    return tuple(f"{via}__{name}" for name in fields)


def model_version_get(*, pk: int) -> ModelVersion | None:
    return ModelVersion.objects.filter(pk=pk).first()


def model_version_production(*, name: str = DEFAULT_MODEL_NAME, for_update: bool = False) -> ModelVersion | None:
    """The version of ``name`` in production, or None (the database allows at most one).

    ``for_update`` locks the row (inside a transaction): a registry transition decides on it.
    """
    qs = ModelVersion.objects.select_for_update() if for_update else ModelVersion.objects.all()
    return qs.filter(name=name, status=VersionStatus.PRODUCTION).first()


def model_version_production_id(*, name: str = DEFAULT_MODEL_NAME) -> int | None:
    return ModelVersion.objects.filter(name=name, status=VersionStatus.PRODUCTION).values_list("pk", flat=True).first()


def model_version_best_candidate(*, name: str = DEFAULT_MODEL_NAME, metric: str = "pr_auc") -> ModelVersion | None:
    """The candidate of ``name`` with the highest test ``metric`` (all stock-days); the newest wins ties."""
    candidates = ModelVersion.objects.filter(name=name, status=VersionStatus.CANDIDATE)
    scored = [(v.metric(metric), v.version, v) for v in candidates]
    ranked = [item for item in scored if item[0] is not None]
    return max(ranked, key=lambda item: (item[0], item[1]))[2] if ranked else None


def model_version_list(*, name: str | None = None, status: str | None = None) -> QuerySet[ModelVersion]:
    """Versions by name, newest first, without the heavy JSON fields."""
    qs = ModelVersion.objects.defer(*HEAVY_FIELDS)
    if name is not None:
        qs = qs.filter(name=name)
    if status is not None:
        qs = qs.filter(status=status)
    return qs.order_by("name", "-version")
