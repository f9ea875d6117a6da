"""Read-only admin for predictions, feature snapshots and batch runs: they are written by services only.

API tokens are managed under "Auth Token" (rest_framework.authtoken's own admin).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from common.admin import ReadOnlyAdmin, rounded
from modelregistry.selectors import model_version_heavy_fields, model_version_list
from predictions.models import BatchRun, FeatureSnapshot, Prediction


class ModelVersionFilter(admin.RelatedFieldListFilter):
    """The model-version filter, its choices read without the versions' big JSON (the stock filter
    loads every version whole: 447 KB of drift reference each)."""

    def field_choices(self, field: Any, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [(str(v.pk), str(v)) for v in model_version_list().defer("metrics")]


@admin.register(BatchRun)
class BatchRunAdmin(ReadOnlyAdmin):
    list_display = (
        "date",
        "status",
        "model_version",
        "instruments",
        "scored",
        "resumed",
        "chunks_done",
        "chunks_total",
        "seconds_shown",
        "created_at",
    )
    list_filter = ("status",)
    date_hierarchy = "date"
    list_select_related = ("model_version",)
    readonly_fields = [f.name for f in BatchRun._meta.fields]

    def get_queryset(self, request: HttpRequest) -> QuerySet[BatchRun]:
        return super().get_queryset(request).defer(*model_version_heavy_fields())

    @admin.display(description="seconds")
    def seconds_shown(self, obj: BatchRun) -> str:
        return "-" if obj.seconds is None else f"{obj.seconds:.1f}"


PROBABILITY_FIELDS = ("probability", "threshold", "new_circuit_probability", "strict_probability")


@admin.register(Prediction)
class PredictionAdmin(ReadOnlyAdmin):
    list_display = ("date", "rank", "instrument", "series", rounded("probability"), "will_hit", "model_version")
    list_filter = ("will_hit", "series", ("model_version", ModelVersionFilter))
    search_fields = ("instrument__symbol",)
    date_hierarchy = "date"
    list_select_related = ("instrument", "model_version")
    raw_id_fields = ("instrument", "batch_run")
    show_full_result_count = False  # millions of rows: skip the second COUNT(*)
    # Probabilities and thresholds are shown with 4 decimals in place of the raw floats.
    exclude = PROBABILITY_FIELDS
    readonly_fields = [rounded(f.name) if f.name in PROBABILITY_FIELDS else f.name for f in Prediction._meta.fields]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Prediction]:
        return super().get_queryset(request).defer(*model_version_heavy_fields())


@admin.register(FeatureSnapshot)
class FeatureSnapshotAdmin(ReadOnlyAdmin):
    list_display = ("date", "instrument", "source", "feature_set_hash_short", "created_at")
    list_filter = ("source",)
    search_fields = ("instrument__symbol",)
    date_hierarchy = "date"
    list_select_related = ("instrument",)
    raw_id_fields = ("instrument",)
    show_full_result_count = False
    readonly_fields = [f.name for f in FeatureSnapshot._meta.fields]

    @admin.display(description="feature set")
    def feature_set_hash_short(self, obj: FeatureSnapshot) -> str:
        return obj.feature_set_hash[:12]
