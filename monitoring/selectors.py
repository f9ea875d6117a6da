"""Reads for the monitoring loop: what the checks consume and what the dashboard and metrics show."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from django.db.models import Count, QuerySet

from common.choices import RunStatus
from features.reference import FeatureReference
from features.spec import FEATURE_NAMES
from modelregistry.choices import DEFAULT_MODEL_NAME, PromotionAction, VersionStatus
from modelregistry.models import ModelVersion, PromotionEvent
from modelregistry.selectors import model_version_heavy_fields, model_version_production
from monitoring import metrics
from monitoring.choices import AlertKind
from monitoring.models import Alert, DriftReport, PerformanceReport
from monitoring.performance import DegradationAction
from predictions.models import BatchRun, FeatureSnapshot, Prediction, ShadowPrediction

FloatArray = npt.NDArray[np.float64]


def version_reference(*, version: ModelVersion) -> FeatureReference | None:
    """The version's frozen drift reference, or None when it was registered without one."""
    return FeatureReference.from_dict(version.reference) if version.reference else None


def snapshot_dates(*, feature_set_hash: str, end: dt.date | None, limit: int) -> list[dt.date]:
    """The last ``limit`` dates (ascending) up to ``end`` that have feature snapshots of this set."""
    qs = FeatureSnapshot.objects.filter(feature_set_hash=feature_set_hash)
    if end is not None:
        qs = qs.filter(date__lte=end)
    dates = list(qs.order_by("-date").values_list("date", flat=True).distinct()[:limit])
    return sorted(dates)


def _column_order(names: Sequence[str], width: int) -> list[int]:
    # Snapshots store values in features.spec order; a reference with other names (a test model's
    # f0..f24) is read positionally.
    if all(name in FEATURE_NAMES for name in names):
        return [FEATURE_NAMES.index(name) for name in names]
    if len(names) != width:
        raise ValueError(f"reference has {len(names)} features, snapshots {width}")
    return list(range(width))


def snapshot_matrix(*, feature_set_hash: str, dates: Sequence[dt.date], names: Sequence[str]) -> FloatArray:
    """(rows, F) float64 feature values of every snapshot on ``dates``, columns in ``names`` order;
    None in the stored JSON becomes NaN."""
    values = list(
        FeatureSnapshot.objects.filter(feature_set_hash=feature_set_hash, date__in=list(dates))
        .order_by("date", "instrument_id")
        .values_list("values", flat=True)
    )
    if not values:
        return np.empty((0, len(names)))
    matrix = np.array(values, dtype=np.float64)  # None -> nan
    return matrix[:, _column_order(names, matrix.shape[1])]


def prediction_dates(*, version: ModelVersion, end: dt.date, limit: int) -> list[dt.date]:
    """The last ``limit`` dates (ascending) up to ``end`` on which ``version`` made predictions."""
    qs = Prediction.objects.filter(model_version=version, date__lte=end)
    return sorted(qs.order_by("-date").values_list("date", flat=True).distinct()[:limit])


def predictions_frame(*, version: ModelVersion, dates: Sequence[dt.date]) -> pd.DataFrame:
    """Columns ``instrument_id, date (datetime64), probability, will_hit`` of ``version`` on ``dates``."""
    rows = Prediction.objects.filter(model_version=version, date__in=list(dates)).values_list(
        "instrument_id", "date", "probability", "will_hit"
    )
    frame = pd.DataFrame(list(rows), columns=["instrument_id", "date", "probability", "will_hit"])
    frame["date"] = pd.to_datetime(frame["date"])
    frame["will_hit"] = frame["will_hit"].astype(bool)
    frame["probability"] = frame["probability"].astype(np.float64)
    return frame


def drift_alerting(*, version: ModelVersion, window_days: int, dates: Sequence[dt.date]) -> list[list[str]]:
    """The alerting features of ``version``'s drift reports ending on ``dates`` (in that order); a date
    without a report (the check did not run) counts as a window without alert."""
    stored = dict(
        DriftReport.objects.filter(model_version=version, window_days=window_days, date__in=list(dates)).values_list(
            "date", "alerting_features"
        )
    )
    return [list(stored.get(d) or []) for d in dates]


def lift_drops(*, version: ModelVersion, before: dt.date, window_days: int, limit: int = 20) -> list[bool]:
    """``lift_dropped`` of ``version``'s last ``limit`` degradation checks before ``before``, oldest first."""
    rows = (
        PerformanceReport.objects.filter(model_version=version, window_days=window_days, as_of__lt=before)
        .order_by("-as_of")
        .values_list("lift_dropped", flat=True)[:limit]
    )
    return list(reversed(list(rows)))


def version_scores(*, version: ModelVersion, pairs: Iterable[tuple[int, np.datetime64]]) -> FloatArray:
    """(n,) ``version``'s probability for each ``(instrument_id, date)`` pair: its shadow rows, else its
    own served predictions (it was production then); NaN where it scored neither."""
    wanted = [(int(i), _as_date(d)) for i, d in pairs]
    if not wanted:
        return np.empty(0)
    ids = {i for i, _ in wanted}
    dates = {d for _, d in wanted}
    found: dict[tuple[int, dt.date], float] = {}
    for model in (Prediction, ShadowPrediction):
        rows = model.objects.filter(model_version=version, instrument_id__in=ids, date__in=dates).values_list(
            "instrument_id", "date", "probability"
        )
        for i, d, p in rows:
            found.setdefault((i, d), float(p))
    return np.array([found.get(pair, np.nan) for pair in wanted], dtype=np.float64)


def _as_date(value: np.datetime64 | dt.date) -> dt.date:
    return pd.Timestamp(value).date()


def reached_by_rollback(*, version: ModelVersion) -> bool:
    """Did ``version`` last enter production through a rollback? Then this incident had its one."""
    last = (
        PromotionEvent.objects.filter(model_version=version, to_status=VersionStatus.PRODUCTION)
        .order_by("-created_at", "-id")
        .values_list("action", flat=True)
        .first()
    )
    return last == PromotionAction.ROLLBACK


def drift_reports(*, version: ModelVersion | None = None) -> QuerySet[DriftReport]:
    qs = DriftReport.objects.select_related("model_version").defer(*model_version_heavy_fields())
    return qs.filter(model_version=version) if version is not None else qs


def performance_trend(*, version: ModelVersion | None = None, limit: int = 60) -> list[PerformanceReport]:
    """The latest ``limit`` performance reports, oldest first (one per version and day)."""
    qs = PerformanceReport.objects.select_related("model_version").defer(*model_version_heavy_fields())
    if version is not None:
        qs = qs.filter(model_version=version)
    return list(reversed(qs.order_by("-as_of", "-created_at")[:limit]))


def alerts_open() -> QuerySet[Alert]:
    return Alert.objects.filter(acknowledged_at__isnull=True).order_by("-created_at", "-id")


def alerts_open_by_kind() -> dict[str, int]:
    """Open (unacknowledged) alerts per kind, every kind present (0 when none)."""
    counts = dict.fromkeys(AlertKind.values, 0)
    for row in alerts_open().order_by().values("kind").annotate(n=Count("id")):
        counts[row["kind"]] = row["n"]
    return counts


def batch_run_latest() -> BatchRun | None:
    return (
        BatchRun.objects.select_related("model_version")
        .defer(*model_version_heavy_fields())
        .order_by("-started_at")
        .first()
    )


def batch_last_success() -> BatchRun | None:
    return (
        BatchRun.objects.filter(status__in=[RunStatus.SUCCEEDED, RunStatus.SKIPPED], finished_at__isnull=False)
        .order_by("-finished_at")
        .first()
    )


@dataclass(frozen=True)
class _VersionQuality:
    realised_f1: dict[str, float]
    estimated_f1: dict[str, float]
    reference_f1: dict[str, float]
    action: dict[str, DegradationAction]


def _version_quality(*, since: dt.date, latest: dt.date) -> _VersionQuality:
    realised: dict[str, float] = {}
    estimated: dict[str, float] = {}
    reference: dict[str, float] = {}
    action: dict[str, DegradationAction] = {}
    # Newest first, so the first report seen per version is its latest.
    reports = PerformanceReport.objects.select_related("model_version").defer(*model_version_heavy_fields())
    for report in reports.filter(as_of__gte=since):
        label = report.model_version.label
        if report.f1 is not None:
            realised.setdefault(label, report.f1)
        if report.estimated_f1 is not None:
            estimated.setdefault(label, report.estimated_f1)
        if report.reference_f1 is not None:
            reference.setdefault(label, report.reference_f1)
        # A decision is news only on the latest check day: a rollback must not keep firing for a month.
        if report.as_of == latest:
            action.setdefault(label, DegradationAction(report.action))
    return _VersionQuality(realised_f1=realised, estimated_f1=estimated, reference_f1=reference, action=action)


def platform_state(*, name: str = DEFAULT_MODEL_NAME, quality_days: int = 30) -> metrics.PlatformState:
    """What the state gauges export: production version, its latest drift report, each recent
    version's latest realised/estimated/test F1, the decisions of the latest check day, open alerts
    and the batch heartbeat."""
    version = model_version_production(name=name)
    drift = drift_reports(version=version).first() if version is not None else None
    latest = PerformanceReport.objects.order_by("-as_of").values_list("as_of", flat=True).first()
    quality = _version_quality(since=latest - dt.timedelta(days=quality_days), latest=latest) if latest else None
    last_batch = batch_last_success()
    return metrics.PlatformState(
        production_model_version=version.label if version is not None else None,
        drift_result=drift.drift_result() if drift is not None else None,
        drift_checked_at=drift.created_at.timestamp() if drift is not None else None,
        realised_f1=quality.realised_f1 if quality else {},
        estimated_f1=quality.estimated_f1 if quality else {},
        reference_f1=quality.reference_f1 if quality else {},
        degradation_action=quality.action if quality else {},
        open_alerts=alerts_open_by_kind(),
        last_batch_success_at=(
            last_batch.finished_at.timestamp() if last_batch is not None and last_batch.finished_at else None
        ),
    )
