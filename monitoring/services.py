"""Monitoring writes: the drift check, the degradation check (with the automatic rollback) and alerts.

Each check stores one report row per (version, day, window), so a rerun updates its row instead of
piling up duplicates, and raises de-duplicated alerts. The rollback goes through the registry's own
service, the one admin uses, with actor "system".
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.urls import reverse
from django.utils import timezone

from common.tracing import get_trace_id
from features.reference import FeatureReference, population_mask
from marketdata.circuits import LABEL_BAND_WINDOW, MAX_HORIZON, next_day_label, truth_flags
from marketdata.selectors import (
    bar_count_on,
    bars_panel,
    fetch_run_get,
    latest_bar_date,
    nth_trading_date_before,
    trading_dates,
)
from modelregistry import services as registry
from modelregistry.choices import DEFAULT_MODEL_NAME
from modelregistry.models import ModelVersion
from modelregistry.selectors import model_version_production
from modelregistry.significance import pr_auc_difference_ci
from monitoring import metrics, notify, selectors
from monitoring.choices import AlertKind, AlertSeverity
from monitoring.drift import LEVEL_FEATURES, DriftPersistence, DriftResult, drift_persistence, drift_report
from monitoring.lift import (
    LiftCheck,
    ReferenceLift,
    RollbackFacts,
    WindowLift,
    lift_check,
    rollback_decide,
    window_lift,
)
from monitoring.models import Alert, DriftReport, PerformanceReport
from monitoring.performance import (
    DegradationAction,
    estimated_performance,
    precision_at_k_per_day,
    realised_performance,
)

logger = logging.getLogger("vcp.monitoring")


class MonitoringError(Exception):
    """A check cannot run; the message says what is missing and how to provide it."""


# --- alerts --------------------------------------------------------------------------------------
def _lock_key(key: str) -> None:
    # Two workers raising the same alert at once must not both create (and send) it.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [zlib.crc32(key.encode())])


def alert_raise(
    *,
    kind: str,
    severity: str,
    message: str,
    dedupe_key: str,
    context: dict[str, Any] | None = None,
) -> tuple[Alert, bool]:
    """Record an alert and send it after commit, unless the same ``dedupe_key`` was raised within
    ``VCP_ALERT_DEDUPE_HOURS`` (24): then the earlier alert only counts one more occurrence.

    Returns the alert and whether it is new (and so is being sent)."""
    now = timezone.now()
    since = now - dt.timedelta(hours=settings.VCP_ALERT_DEDUPE_HOURS)
    with transaction.atomic():
        _lock_key(dedupe_key)
        recent = Alert.objects.filter(dedupe_key=dedupe_key, created_at__gte=since).order_by("-created_at").first()
        if recent is not None:
            Alert.objects.filter(pk=recent.pk).update(occurrences=F("occurrences") + 1, last_seen_at=now)
            recent.refresh_from_db()
            logger.info("alert repeated within the de-duplication window", extra={"dedupe_key": dedupe_key})
            return recent, False
        alert = Alert.objects.create(
            kind=kind,
            severity=severity,
            message=message,
            context=context or {},
            dedupe_key=dedupe_key,
            last_seen_at=now,
            trace_id=get_trace_id() or "",
        )
        logger.warning("alert raised: %s", message, extra={"kind": kind, "severity": severity, "alert_id": alert.pk})
        transaction.on_commit(lambda: alert_deliver(alert_id=alert.pk))
    return alert, True


def alert_deliver(*, alert_id: int) -> Alert:
    """Send one alert by email and to the webhook, and record each channel's outcome on the row."""
    alert = Alert.objects.get(pk=alert_id)
    link = f"{settings.VCP_SITE_URL.rstrip('/')}{reverse('staff:dashboard')}" if settings.VCP_SITE_URL else None
    text = notify.alert_text(
        kind=alert.kind, severity=alert.severity, message=alert.message, context=alert.context, url=link
    )
    delivery = {
        "email": notify.email_send(
            subject=notify.alert_subject(kind=alert.kind, severity=alert.severity, message=alert.message),
            body=text,
            recipients=settings.VCP_ALERT_EMAILS,
            sender=settings.DEFAULT_FROM_EMAIL,
        ),
        "webhook": notify.webhook_post(url=settings.VCP_ALERT_WEBHOOK_URL, text=text),
    }
    Alert.objects.filter(pk=alert.pk).update(delivery=delivery, delivered_at=timezone.now())
    alert.delivery = delivery
    return alert


def alert_acknowledge(*, alerts: QuerySet[Alert], user: AbstractBaseUser) -> int:
    """Mark the open alerts among ``alerts`` as acknowledged by ``user``; returns how many changed."""
    return alerts.filter(acknowledged_at__isnull=True).update(acknowledged_by=user, acknowledged_at=timezone.now())


def fetch_missing_check(*, day: dt.date, exchanges: list[str] | None = None) -> list[Alert]:
    """Alert for each exchange whose bars of ``day`` (a session) are still not stored: the evening's
    fetch or ingest did not bring them. The message says what the fetch recorded, if anything."""
    alerts = []
    for exchange in exchanges or settings.VCP_FETCH_EXCHANGES:
        if bar_count_on(exchange=exchange, date=day):
            continue
        run = fetch_run_get(exchange=exchange, date=day)
        if run is None:
            why = "no fetch was recorded for it (is beat running fetch-bhavcopy-daily?)"
        elif run.status == "succeeded":
            why = f"it was fetched into {run.path}, but not ingested: see the day's IngestRun and inbox/failed/"
        else:
            last = run.error or run.note or "no error recorded"
            why = f"the fetch is {run.status} after {run.attempts} attempts: {last}"
        alert, _ = alert_raise(
            kind=AlertKind.FETCH_MISSING,
            severity=AlertSeverity.CRITICAL,
            message=(
                f"{exchange} bhavcopy of {day} is still missing: {why}. Fetch it "
                f"(manage.py fetch_bhavcopy --date {day} --exchange {exchange}), ingest it and score the day."
            ),
            dedupe_key=f"fetch_missing:{exchange}:{day}",
            context={"exchange": exchange, "date": str(day), "fetch_run": getattr(run, "pk", None)},
        )
        alerts.append(alert)
    return alerts


def check_failure_report(*, check: str, error: str) -> Alert:
    """A monitoring check could not run (no snapshots, no bars, no reference): tell a human, once a day."""
    alert, _ = alert_raise(
        kind=AlertKind.CHECK_FAILED,
        severity=AlertSeverity.WARNING,
        message=f"check_{check} could not run: {error}",
        dedupe_key=f"check_failed:{check}",
        context={"check": check},
    )
    return alert


# --- drift ---------------------------------------------------------------------------------------
def _production_or_none(name: str) -> ModelVersion | None:
    version = model_version_production(name=name)
    if version is None:
        logger.info("no production version: nothing to monitor", extra={"model": name})
    return version


def drift_watched(version: ModelVersion) -> list[str] | None:
    """The features whose drift may decide: ``VCP_DRIFT_WATCHED_FEATURES``, else the ones the version
    was trained to rely on (90% of its gain), else all (None)."""
    return settings.VCP_DRIFT_WATCHED_FEATURES or version.training_config.get("watched_features") or None


def drift_window(*, version: ModelVersion, reference: FeatureReference, current: np.ndarray) -> DriftResult:
    """One window's drift, exactly as the nightly check judges it (the replay calls this too).

    ``current`` (rows, F in ``reference.names`` order) is filtered to the reference's population;
    PSI and KS use finite values only, the missing share is reported apart; level features are
    measured but excluded from the decision (``monitoring.drift.LEVEL_FEATURES``)."""
    rows = current[population_mask(current, reference.names, reference.population)]
    if rows.shape[0] == 0:
        raise MonitoringError(
            f"no row of the window is in the reference's population ({reference.population or 'all rows'})."
        )
    try:
        return drift_report(
            reference,
            rows,
            alpha=settings.VCP_DRIFT_ALPHA,
            min_rows=settings.VCP_DRIFT_MIN_ROWS,
            include_missing=False,
            watched=drift_watched(version),
            excluded=LEVEL_FEATURES,
        )
    except ValueError as exc:
        raise MonitoringError(f"VCP_DRIFT_WATCHED_FEATURES does not fit {version.label}: {exc}") from exc


def drift_decide(*, earlier: list[list[str]], result: DriftResult) -> DriftPersistence:
    """``result``'s window after the ``earlier`` windows' alerting features (oldest first): k of n."""
    return drift_persistence(
        [*earlier, list(result.alerting)], k=settings.VCP_DRIFT_PERSIST_K, n=settings.VCP_DRIFT_PERSIST_N
    )


def drift_check(
    *,
    name: str = DEFAULT_MODEL_NAME,
    date: dt.date | None = None,
    window_days: int | None = None,
) -> DriftReport | None:
    """PSI and KS of the production version's features over the last ``window_days`` snapshot dates
    up to ``date`` (the latest when None), against its frozen reference, on the reference's
    population. "Retrain needed" (and its alert) needs the same deciding feature at ALERT in
    ``VCP_DRIFT_PERSIST_K`` of the last ``VCP_DRIFT_PERSIST_N`` windows, windows spaced
    ``window_days`` snapshot dates apart. None when no version is in production."""
    started = time.perf_counter()
    version = _production_or_none(name)
    if version is None:
        return None
    reference = selectors.version_reference(version=version)
    if reference is None:
        raise MonitoringError(f"{version.label} has no frozen drift reference: retrain it with the training command.")
    days = window_days or settings.VCP_DRIFT_WINDOW_DAYS
    history = selectors.snapshot_dates(
        feature_set_hash=version.feature_set_hash, end=date, limit=days * settings.VCP_DRIFT_PERSIST_N
    )
    dates = history[-days:]
    if not dates:
        raise MonitoringError(
            f"no feature snapshots of set {version.feature_set_hash} up to {date or 'today'}: run score_universe first."
        )
    current = selectors.snapshot_matrix(feature_set_hash=version.feature_set_hash, dates=dates, names=reference.names)
    result = drift_window(version=version, reference=reference, current=current)
    # The earlier windows end days, 2 x days, ... snapshot dates back: they do not overlap this one.
    earlier_ends = [
        history[-1 - i * days] for i in range(settings.VCP_DRIFT_PERSIST_N - 1, 0, -1) if i * days < len(history)
    ]
    earlier = selectors.drift_alerting(version=version, window_days=days, dates=earlier_ends)
    persistence = drift_decide(earlier=earlier, result=result)
    # Worst first, the features that decide the status ahead of the ones only reported.
    drifted = sorted(
        (f for f in result.features if f.name in result.drifted_features),
        key=lambda f: (not result.deciding(f.name), -f.psi),
    )
    report, _ = DriftReport.objects.update_or_create(
        model_version=version,
        date=dates[-1],
        window_days=days,
        defaults={
            "window_start": dates[0],
            "status": result.status.value,
            "retrain_needed": persistence.retrain_needed,
            "n_current": result.n_current,
            "n_reference": result.n_reference,
            "max_psi": max((f.psi for f in result.features), default=0.0),
            "drifted_features": [f.name for f in drifted],
            "alerting_features": list(result.alerting),
            "persistence": {
                **persistence.__dict__,
                "persistent": list(persistence.persistent),
                "reason": persistence.reason,
            },
            "population": reference.population,
            "missing_shifted": list(result.missing_shifted),
            "result": result.to_dict(),
            "seconds": time.perf_counter() - started,
            "trace_id": get_trace_id() or "",
        },
    )
    metrics.drift_result_publish(result)
    logger.info(
        "drift check %s",
        result.status.value,
        extra={
            "model": version.label,
            "date": str(dates[-1]),
            "rows": result.n_current,
            "drifted": report.drifted_features,
            "retrain_needed": persistence.retrain_needed,
        },
    )
    if persistence.retrain_needed:
        by_name = {f.name: f for f in result.features}
        worst = ", ".join(
            f"{name} PSI {by_name[name].psi:.3f} now (noise limit {by_name[name].psi_critical:.3f}), "
            f"at ALERT in {persistence.counts[name]} of the last {persistence.windows} windows"
            for name in persistence.persistent[:5]
        )
        alert_raise(
            kind=AlertKind.DRIFT,
            severity=AlertSeverity.WARNING,
            message=f"Retrain needed: {version.label} features drifted persistently up to {dates[-1]}: {worst}.",
            dedupe_key=f"drift:{version.pk}",
            context={
                "model_version": version.label,
                "date": str(dates[-1]),
                "report_id": report.pk,
                "persistent_features": list(persistence.persistent),
                "why": persistence.reason,
            },
        )
    return report


# --- realised performance and degradation ------------------------------------------------------
@dataclass(frozen=True)
class _Window:
    labelled: list[dt.date]  # prediction dates whose labels are known, ascending
    pending: list[dt.date]  # later prediction dates still waiting for their labels


def _window(*, version: ModelVersion, as_of: dt.date, days: int) -> _Window:
    candidates = selectors.prediction_dates(version=version, end=as_of, limit=days + MAX_HORIZON + 5)
    if not candidates:
        return _Window(labelled=[], pending=[])
    sessions = trading_dates(start=candidates[0], end=as_of)
    position = {d: i for i, d in enumerate(sessions)}
    last = len(sessions) - 1
    # A prediction on t is labelled once `horizon` trading dates after t have bars.
    labelled = [d for d in candidates if d in position and position[d] + version.horizon <= last]
    pending = [d for d in candidates if d not in labelled and (not labelled or d > labelled[-1])]
    return _Window(labelled=labelled[-days:], pending=pending)


@dataclass(frozen=True)
class _Labelled:
    y_true: np.ndarray  # (n,) 0/1 realised labels
    decisions: np.ndarray  # (n,) bool
    probabilities: np.ndarray  # (n,)
    hit_today: np.ndarray  # (n,) bool: at an upper circuit on the prediction day
    day: np.ndarray  # (n,) date index
    instrument_id: np.ndarray  # (n,) to join the rollback target's shadow scores
    date: np.ndarray  # (n,) datetime64[D] prediction date


def _labelled_predictions(*, version: ModelVersion, dates: list[dt.date], as_of: dt.date) -> _Labelled:
    frame = selectors.predictions_frame(version=version, dates=dates)
    start = nth_trading_date_before(end=dates[0], lookback=LABEL_BAND_WINDOW) or dates[0]
    panel = bars_panel(
        instrument_ids=frame["instrument_id"].unique().tolist(), start=start, end=as_of, active_only=False
    )
    circuits = truth_flags(panel.open, panel.high, panel.low, panel.close, panel.prev_close)["platform"]
    labels = next_day_label(circuits, panel.has_bar, horizon=version.horizon)
    dates64 = frame["date"].to_numpy().astype("datetime64[D]")
    rows = np.minimum(np.searchsorted(panel.dates, dates64), len(panel.dates) - 1)
    column_of = {int(i): j for j, i in enumerate(panel.instrument_ids)}
    cols = frame["instrument_id"].map(column_of).fillna(-1).to_numpy(dtype=np.int64)
    # A prediction whose stock or date has no bar in the panel cannot be labelled.
    found = (cols >= 0) & (panel.dates[rows] == dates64)
    y = np.where(found, labels[rows, np.maximum(cols, 0)], np.nan)
    known = ~np.isnan(y)
    rows, cols = rows[known], cols[known]
    return _Labelled(
        y_true=y[known].astype(np.int8),
        decisions=frame["will_hit"].to_numpy()[known],
        probabilities=frame["probability"].to_numpy()[known],
        hit_today=circuits[rows, cols],
        day=rows,
        instrument_id=frame["instrument_id"].to_numpy()[known],
        date=dates64[known],
    )


def reference_lift(version: ModelVersion) -> ReferenceLift | None:
    """The version's test lift over "hit today" (PR-AUC, precision@k per day), None when not recorded."""
    values = [
        version.metric(key, scorer=scorer) for key in ("pr_auc", "precision_at_k") for scorer in ("model", "hit_today")
    ]
    if any(v is None for v in values):
        return None
    model_pr, naive_pr, model_p, naive_p = (float(v) for v in values if v is not None)
    return ReferenceLift(pr_auc_lift=model_pr - naive_pr, precision_at_k_lift=model_p - naive_p)


def lift_check_settings() -> dict[str, Any]:
    """The degradation rule's knobs, from settings: what the nightly check and the replay both use."""
    return {
        "drop": settings.VCP_DEGRADATION_LIFT_DROP,
        "persist_k": settings.VCP_DEGRADATION_PERSIST_K,
        "persist_n": settings.VCP_DEGRADATION_PERSIST_N,
    }


def shadow_comparison(
    *,
    y_true: np.ndarray,
    production: np.ndarray,
    target: np.ndarray,
    day: np.ndarray,
    window_days: int,
    target_label: str,
) -> tuple[int, Any]:
    """Days of the window where the target has a score on every row, and (when it covers them all)
    the day-block bootstrap of PR-AUC(target) - PR-AUC(production) on the same rows."""
    covered = np.isfinite(target)
    day_codes = np.unique(day)
    full_days = sum(int(covered[day == d].all()) for d in day_codes)
    if full_days < window_days or not y_true.any():
        return full_days, None
    return full_days, pr_auc_difference_ci(
        y_true=y_true.astype(np.float64), score_a=target, score_b=production, days=day, n_boot=1000
    )


def _rollback_facts(*, version: ModelVersion, data: _Labelled, window_days: int) -> RollbackFacts:
    target = version.previous_production
    if target is None:
        return RollbackFacts(None, False, False, 0, window_days, None)
    scores = selectors.version_scores(version=target, pairs=zip(data.instrument_id.tolist(), data.date, strict=True))
    days, comparison = shadow_comparison(
        y_true=data.y_true,
        production=data.probabilities.astype(np.float64),
        target=scores,
        day=data.day,
        window_days=window_days,
        target_label=target.label,
    )
    return RollbackFacts(
        target=target.label,
        production_reached_by_rollback=selectors.reached_by_rollback(version=version),
        target_failed_before=target.rolled_back_at is not None,
        shadow_days=days,
        window_days=window_days,
        comparison=comparison,
    )


def _rollback(*, version: ModelVersion, reason: str, actor: registry.Actor = None) -> ModelVersion | None:
    """Roll ``version`` back if it is still in production and has never caused a rollback.

    The row lock makes a concurrent second check wait, then find the version gone from production."""
    with transaction.atomic():
        current = model_version_production(name=version.name, for_update=True)
        if current is None or current.pk != version.pk or current.rolled_back_at is not None:
            return None
        return registry.model_version_rollback(
            name=version.name, actor=actor, reason=f"automatic rollback by check_degradation: {reason}"
        )


def _lift_fields(window: WindowLift | None, reference: ReferenceLift | None, check: LiftCheck | None) -> dict[str, Any]:
    def finite(value: float | None) -> float | None:
        return value if value is not None and np.isfinite(value) else None

    return {
        "model_pr_auc": finite(window.model_pr_auc) if window else None,
        "naive_pr_auc": finite(window.naive_pr_auc) if window else None,
        "naive_precision_at_k": finite(window.naive_precision_at_k) if window else None,
        "pr_auc_lift": finite(window.pr_auc_lift) if window else None,
        "precision_at_k_lift": finite(window.precision_at_k_lift) if window else None,
        "reference_pr_auc_lift": reference.pr_auc_lift if reference else None,
        "reference_precision_at_k_lift": reference.precision_at_k_lift if reference else None,
        "lift_dropped": bool(check and check.dropped),
        "drops_in_last_n": check.drops_in_last_n if check else 0,
    }


def _shadow_json(facts: RollbackFacts | None) -> dict[str, Any]:
    if facts is None:
        return {}
    c = facts.comparison
    return {
        "target": facts.target,
        "shadow_days": facts.shadow_days,
        "window_days": facts.window_days,
        "production_reached_by_rollback": facts.production_reached_by_rollback,
        "target_failed_before": facts.target_failed_before,
        **(
            {
                "target_pr_auc": c.pr_auc_a,
                "production_pr_auc": c.pr_auc_b,
                "difference": c.difference,
                "low": c.low,
                "high": c.high,
                "days": c.n_days,
            }
            if c is not None
            else {}
        ),
    }


def degradation_check(
    *,
    name: str = DEFAULT_MODEL_NAME,
    as_of: dt.date | None = None,
    window_days: int | None = None,
    min_positives: int | None = None,
    actor: registry.Actor = None,
) -> PerformanceReport | None:
    """Join the production version's past predictions to the labels the newest bars give and judge
    the last ``window_days`` labelled prediction dates by the lift over "hit today" (``monitoring.lift``):
    an alert when the lift stays down in k of the last n checks; an automatic rollback only when, on
    top, the rollback target scored in shadow on the same rows is better by a day-block bootstrap
    interval above zero, never failed before, and production did not itself come back through a
    rollback (one per incident; then a person decides). F1 and a label-free estimate are reported,
    never decisive. None when no version is in production. ``actor``: who a rollback is recorded
    for (None: "system", for beat; the operator's name from the command)."""
    started = time.perf_counter()
    version = _production_or_none(name)
    if version is None:
        return None
    latest = latest_bar_date(end=as_of)
    if latest is None:
        raise MonitoringError("no bars stored: ingest bhavcopy files before checking degradation.")
    days = window_days or settings.VCP_DEGRADATION_WINDOW_DAYS
    floor = settings.VCP_DEGRADATION_MIN_POSITIVES if min_positives is None else min_positives
    window = _window(version=version, as_of=latest, days=days)
    reference_f1 = version.metric("f1")
    reference = reference_lift(version)
    fields: dict[str, Any] = {
        "window_start": window.labelled[0] if window.labelled else None,
        "window_end": window.labelled[-1] if window.labelled else None,
        "labelled_dates": len(window.labelled),
        "reference_f1": reference_f1,
        "min_positives": floor,
    }

    if window.pending:
        pending = selectors.predictions_frame(version=version, dates=[window.pending[-1]])
        estimate = estimated_performance(pending["probability"].to_numpy(), pending["will_hit"].to_numpy())
        fields |= {
            "estimated_f1": estimate.f1,
            "estimated_precision": estimate.precision,
            "estimated_recall": estimate.recall,
            "estimated_rows": estimate.n,
            "estimated_for": window.pending[-1],
        }

    check: LiftCheck | None = None
    lift: WindowLift | None = None
    facts: RollbackFacts | None = None
    if window.labelled:
        data = _labelled_predictions(version=version, dates=window.labelled, as_of=latest)
        perf = realised_performance(data.y_true, data.decisions, hit_today=data.hit_today)
        overall = perf.overall
        k = int(version.metrics.get("k", 20))
        fields |= {
            "rows": overall.n,
            "positives": overall.positives,
            "predicted_positives": overall.tp + overall.fp,
            "tp": overall.tp,
            "fp": overall.fp,
            "fn": overall.fn,
            "precision": overall.precision,
            "recall": overall.recall,
            "f1": overall.f1,
            "new_circuit_f1": perf.new_circuits.f1 if perf.new_circuits else None,
            "new_circuit_positives": perf.new_circuits.positives if perf.new_circuits else 0,
            "precision_at_k": (
                precision_at_k_per_day(data.probabilities, data.y_true, data.day, k=k) if overall.n else None
            ),
        }
        if overall.n:
            lift = window_lift(data.y_true, data.probabilities, data.hit_today, data.day, k=k)
            earlier = selectors.lift_drops(version=version, before=latest, window_days=days)
            check = lift_check(lift, reference, earlier_drops=earlier, min_positives=floor, **lift_check_settings())
            # The shadow comparison is shown every evening (dashboard); it decides only on an alert.
            facts = _rollback_facts(version=version, data=data, window_days=len(window.labelled))

    action = check.action if check else DegradationAction.NONE
    reason = check.reason if check else "no labels yet"
    rolled_back_to: ModelVersion | None = None
    with transaction.atomic():
        if facts is not None and action is DegradationAction.ALERT:
            go, why = rollback_decide(facts)
            reason = f"{reason}; {why}"
            if go:
                try:
                    rolled_back_to = _rollback(version=version, reason=reason, actor=actor)
                except registry.RegistryError as exc:
                    reason = f"{reason}; the rollback was refused: {exc}"
                else:
                    if rolled_back_to is None:
                        reason = f"{reason}; not rolled back: the version already left production"
                    else:
                        action = DegradationAction.ROLLBACK
        report, _ = PerformanceReport.objects.update_or_create(
            model_version=version,
            as_of=latest,
            window_days=days,
            defaults={
                **fields,
                **_lift_fields(lift, reference, check),
                "shadow": _shadow_json(facts),
                "relative_drop": (
                    (reference_f1 - fields["f1"]) / reference_f1
                    if reference_f1 and fields.get("f1") is not None
                    else None
                ),
                "action": action.value,
                "reason": reason,
                "rolled_back_to": rolled_back_to,
                "seconds": time.perf_counter() - started,
                "trace_id": get_trace_id() or "",
            },
        )
        _raise_degradation_alert(version=version, report=report, rolled_back_to=rolled_back_to)
    logger.info(
        "degradation check %s",
        action.value,
        extra={"model": version.label, "as_of": str(latest), "pr_auc_lift": report.pr_auc_lift, "reason": reason},
    )
    return report


def _lift_text(report: PerformanceReport) -> str:
    def fmt(value: float | None) -> str:
        return f"{value:+.3f}" if value is not None else "-"

    return (
        f"PR-AUC lift over 'hit today' {fmt(report.pr_auc_lift)} (test {fmt(report.reference_pr_auc_lift)}), "
        f"precision@k lift {fmt(report.precision_at_k_lift)} (test {fmt(report.reference_precision_at_k_lift)})"
    )


def _raise_degradation_alert(
    *, version: ModelVersion, report: PerformanceReport, rolled_back_to: ModelVersion | None
) -> None:
    if report.action == DegradationAction.NONE:
        return
    context = {
        "model_version": version.label,
        "as_of": str(report.as_of),
        "pr_auc_lift": report.pr_auc_lift,
        "precision_at_k_lift": report.precision_at_k_lift,
        "test_pr_auc_lift": report.reference_pr_auc_lift,
        "test_precision_at_k_lift": report.reference_precision_at_k_lift,
        "positives": report.positives,
        "report_id": report.pk,
        "shadow": report.shadow,
        "why": report.reason,
    }
    if report.action == DegradationAction.ROLLBACK and rolled_back_to is not None:
        # One automatic rollback per incident: from here on a person decides, so tell one.
        alert_raise(
            kind=AlertKind.ROLLBACK,
            severity=AlertSeverity.CRITICAL,
            message=(
                f"{version.label} rolled back to {rolled_back_to.label} "
                f"over {report.window_start}..{report.window_end}: "
                f"{_lift_text(report)}. {report.reason}. No further automatic rollback in this incident: "
                "a person must review it."
            ),
            dedupe_key=f"rollback:{version.pk}",
            context={**context, "rolled_back_to": rolled_back_to.label},
        )
        return
    alert_raise(
        kind=AlertKind.DEGRADATION,
        severity=AlertSeverity.WARNING,
        message=(
            f"{version.label} degraded over {report.window_start}..{report.window_end}: {_lift_text(report)}: "
            f"{report.reason}."
        ),
        dedupe_key=f"degradation:{version.pk}",
        context=context,
    )
