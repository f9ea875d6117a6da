"""Reads of predictions, feature snapshots and batch runs: for the API lists, serving and the batch."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db.models import Max, QuerySet

from modelregistry.selectors import model_version_heavy_fields, model_version_production_id
from predictions.models import BatchRun, FeatureSnapshot, Prediction


def feature_snapshots_get(
    *, pairs: Iterable[tuple[int, dt.date]], feature_set_hash: str
) -> dict[tuple[int, dt.date], list[float | None]]:
    """Stored feature vectors for ``(instrument_id, date)`` pairs, in ``features.spec`` order."""
    wanted = set(pairs)
    if not wanted:
        return {}
    ids = {i for i, _ in wanted}
    dates = {d for _, d in wanted}
    rows = FeatureSnapshot.objects.filter(
        instrument_id__in=ids, date__in=dates, feature_set_hash=feature_set_hash
    ).values_list("instrument_id", "date", "values")
    return {(i, d): values for i, d, values in rows if (i, d) in wanted}


def instruments_scored(*, date: dt.date, model_version_id: int) -> set[int]:
    return set(
        Prediction.objects.filter(date=date, model_version_id=model_version_id).values_list("instrument_id", flat=True)
    )


def predictions_latest_date(*, model_version_id: int | None = None) -> dt.date | None:
    qs = Prediction.objects.all()
    if model_version_id is not None:
        qs = qs.filter(model_version_id=model_version_id)
    value: dt.date | None = qs.aggregate(latest=Max("date"))["latest"]
    return value


def predictions_default_version(*, date: dt.date) -> int | None:
    """The production version when it scored ``date``, else the version that scored it last."""
    production = model_version_production_id()
    on_date = Prediction.objects.filter(date=date)
    if production is not None and on_date.filter(model_version_id=production).exists():
        return production
    return on_date.order_by("-created_at", "-id").values_list("model_version_id", flat=True).first()


ORDERINGS: dict[str, tuple[str, ...]] = {
    "rank": ("rank", "instrument__symbol"),
    "-probability": ("-probability", "instrument__symbol"),
    "probability": ("probability", "instrument__symbol"),
    "-new_circuit_probability": ("-new_circuit_probability", "instrument__symbol"),
    "symbol": ("instrument__symbol", "instrument__exchange"),
    "-symbol": ("-instrument__symbol", "-instrument__exchange"),
}


def predictions_ranked(
    *,
    date: dt.date,
    model_version_id: int,
    min_probability: float | None = None,
    series: str | None = None,
    will_hit: bool | None = None,
    fresh: bool | None = None,
    ordering: str = "rank",
) -> QuerySet[Prediction]:
    """One day's predictions of one model version, filtered and ordered (rank 1 = most likely)."""
    qs = (
        Prediction.objects.filter(date=date, model_version_id=model_version_id)
        .select_related("instrument", "model_version")
        .defer(*model_version_heavy_fields())
    )
    if min_probability is not None:
        qs = qs.filter(probability__gte=min_probability)
    if series:
        qs = qs.filter(series=series.upper())
    if will_hit is not None:
        qs = qs.filter(will_hit=will_hit)
    if fresh is not None:
        # Fresh candidates carry a new-circuit probability; stocks locked today do not.
        qs = qs.filter(new_circuit_probability__isnull=not fresh)
    return qs.order_by(*ORDERINGS[ordering])


def predictions_export_rows(*, date: dt.date, model_version_id: int) -> list[tuple[Any, ...]]:
    """``(rank, symbol, exchange, series, probability, will_hit, threshold, new_circuit_probability,
    will_hit_new, strict_probability)`` by rank: the daily CSV's rows."""
    return list(
        Prediction.objects.filter(date=date, model_version_id=model_version_id)
        .order_by("rank", "instrument_id")
        .values_list(
            "rank",
            "instrument__symbol",
            "instrument__exchange",
            "series",
            "probability",
            "will_hit",
            "threshold",
            "new_circuit_probability",
            "will_hit_new",
            "strict_probability",
        )
    )


def batch_run_get(*, pk: int) -> BatchRun:
    return BatchRun.objects.select_related("model_version").defer(*model_version_heavy_fields()).get(pk=pk)
