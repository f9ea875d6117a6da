"""Shadow scoring: the production version's rollback target and any challenger, scored every evening
on the very snapshots production was scored on, stored apart and never served.

The degradation check compares production with its rollback target on the same rows before it may
roll back (``monitoring.lift.rollback_decide``); without these rows it can only alert. The batch
calls ``shadow_score_run`` after it closes: a shadow failure is logged and noted on the run, it never
fails the evening's serving batch.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat

from features import spec
from modelregistry.choices import VersionStatus
from modelregistry.loader import loader
from modelregistry.models import ModelVersion
from modelregistry.selectors import model_version_production
from predictions.models import BatchRun, FeatureSnapshot, ShadowPrediction

logger = logging.getLogger("vcp.batch.shadow")

WRITE_BATCH = 2000
# The monthly challenger is registered with this purpose (modelregistry.services.challenger_train).
CHALLENGER_PURPOSE = "challenger"


def shadow_versions(*, production: ModelVersion) -> list[ModelVersion]:
    """Production's rollback target, then the candidates marked as challengers, newest first: the
    versions scored in shadow. Only versions of production's feature set (the snapshots' columns)."""
    versions: list[ModelVersion] = []
    if production.previous_production_id is not None:
        target = ModelVersion.objects.filter(pk=production.previous_production_id).first()
        if target is not None:
            versions.append(target)
    challengers = ModelVersion.objects.filter(
        name=production.name, status=VersionStatus.CANDIDATE, training_config__purpose=CHALLENGER_PURPOSE
    ).order_by("-version")
    versions.extend(challengers)
    seen: set[int] = {production.pk}
    chosen = []
    for version in versions:
        if version.pk in seen:
            continue
        seen.add(version.pk)
        if version.feature_set_hash != production.feature_set_hash:
            logger.warning("not shadow-scored: another feature set", extra={"model": version.label})
            continue
        chosen.append(version)
    return chosen


def shadow_score_day(*, date: dt.date, batch_run_id: int | None = None, name: str | None = None) -> dict[str, int]:
    """Score ``date``'s feature snapshots with every shadow version; returns rows written per version
    label. Idempotent (one row per instrument, date and version, replaced on a rerun)."""
    production = model_version_production(name=name) if name else model_version_production()
    if production is None:
        return {}
    versions = shadow_versions(production=production)
    if not versions:
        return {}
    stored = list(
        FeatureSnapshot.objects.filter(date=date, feature_set_hash=spec.FEATURE_SET_HASH)
        .order_by("instrument_id")
        .values_list("instrument_id", "values")
    )
    if not stored:
        return {}
    ids = [i for i, _ in stored]
    matrix = np.array([[np.nan if v is None else v for v in values] for _, values in stored], dtype=np.float32)
    written: dict[str, int] = {}
    for version in versions:
        probability = loader.get(version.pk).native().score(matrix).probability
        rows = [
            ShadowPrediction(
                instrument_id=i, date=date, model_version=version, probability=float(p), batch_run_id=batch_run_id
            )
            for i, p in zip(ids, probability, strict=True)
        ]
        with transaction.atomic():
            ShadowPrediction.objects.bulk_create(
                rows,
                batch_size=WRITE_BATCH,
                update_conflicts=True,
                unique_fields=["instrument", "date", "model_version"],
                update_fields=["probability", "batch_run"],
            )
        written[version.label] = len(rows)
    shadow_predictions_prune(before=_keep_from(date=date))
    return written


def _keep_from(*, date: dt.date) -> dt.date | None:
    """The oldest date to keep: the ``VCP_SHADOW_KEEP_SESSIONS``-th shadow date up to ``date``."""
    dates = list(
        ShadowPrediction.objects.filter(date__lte=date)
        .order_by("-date")
        .values_list("date", flat=True)
        .distinct()[: settings.VCP_SHADOW_KEEP_SESSIONS]
    )
    return dates[-1] if len(dates) == settings.VCP_SHADOW_KEEP_SESSIONS else None


def shadow_predictions_prune(*, before: dt.date | None) -> int:
    """Delete shadow rows older than ``before`` (None: nothing): the checks read a few weeks only."""
    if before is None:
        return 0
    deleted, _ = ShadowPrediction.objects.filter(date__lt=before).delete()
    return deleted


def shadow_score_run(*, date: dt.date, batch_run_id: int) -> None:
    """The batch's hook: shadow-score the run's date; a failure is logged and noted on the run."""
    started = time.perf_counter()
    try:
        written = shadow_score_day(date=date, batch_run_id=batch_run_id)
    except Exception as exc:  # evidence for the checks, not serving: never fail the evening's batch
        logger.exception("shadow scoring failed", extra={"batch_run": batch_run_id, "date": str(date)})
        line = f"shadow scoring failed ({type(exc).__name__}: {exc}); the degradation check cannot roll back\n"
        BatchRun.objects.filter(pk=batch_run_id).update(note=Concat(F("note"), Value(line)))
        return
    logger.info(
        "shadow scoring done",
        extra={"batch_run": batch_run_id, "date": str(date), "rows": written, "seconds": time.perf_counter() - started},
    )
