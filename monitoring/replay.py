"""Replay the nightly drift and degradation checks over stored history, writing nothing.

The nightly jobs read snapshots and predictions one evening at a time; the replay computes the same
inputs for the whole period in bulk (features over one panel, as training and the promotion gate do;
scores from each version's native booster, as the batch does) and then walks the sessions in order,
deciding each evening with the very functions the jobs use (drift always against the replayed
production version's reference): ``services.drift_window`` and
``services.drift_decide`` (population filter, missing rate apart, level features excluded, k of n
windows), ``lift.lift_check`` and ``lift.rollback_decide`` with ``services.shadow_comparison``. No
alert is raised and nothing is rolled back: a rollback the jobs *would* make is simulated in memory
(the target serves from the next evening on, and this incident has had its one rollback).

``Injection`` replaces the served scores for some sessions, e.g. by the production model with the
circuit-history features blanked to NaN, to show that a real degradation is caught.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from django.conf import settings

from features import spec
from marketdata.selectors import bars_panel, nth_trading_date_before, trading_dates
from modelregistry.datasets import panel_dataset
from modelregistry.loader import loader
from modelregistry.models import ModelVersion
from monitoring import selectors, services
from monitoring.drift import DriftResult
from monitoring.lift import RollbackFacts, lift_check, rollback_decide, window_lift
from monitoring.performance import DegradationAction

CIRCUIT_HISTORY = spec.CIRCUIT_HISTORY


@dataclass(frozen=True)
class Injection:
    """Serve ``blank``-ed scores (those features set to NaN) for ``sessions`` sessions from ``start``."""

    start: dt.date
    sessions: int
    blank: tuple[str, ...] = CIRCUIT_HISTORY


@dataclass(frozen=True)
class ReplayDay:
    date: dt.date
    served: str  # the version whose scores were served that evening (+ "*" when injected)
    drift_status: str
    alerting: tuple[str, ...]
    retrain_needed: bool
    persistent: tuple[str, ...]
    missing_shifted: tuple[str, ...]
    pr_auc_lift: float
    precision_at_k_lift: float
    positives: int
    dropped: bool
    drops_in_last_n: int
    action: str
    reason: str


@dataclass
class ReplayResult:
    production: str
    target: str | None
    days: list[ReplayDay] = field(default_factory=list)
    drift_window_days: int = 0
    injection: Injection | None = None

    @property
    def retrain_days(self) -> int:
        return sum(d.retrain_needed for d in self.days)

    def windows(self) -> list[ReplayDay]:
        """Every ``drift_window_days``-th evening, counted back from the last: non-overlapping windows."""
        step = max(1, self.drift_window_days)
        return self.days[::-1][::step][::-1]

    @property
    def alerts(self) -> list[ReplayDay]:
        return [d for d in self.days if d.action == DegradationAction.ALERT.value]

    @property
    def rollbacks(self) -> list[ReplayDay]:
        return [d for d in self.days if d.action == DegradationAction.ROLLBACK.value]


class ReplayError(Exception):
    """The replay cannot run; the message says what is missing."""


def _score(version: ModelVersion, x: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    if version.feature_set_hash != spec.FEATURE_SET_HASH:
        raise ReplayError(f"{version.label} was trained on another feature set than this code computes; retrain it.")
    return np.asarray(loader.get(version.pk).native().score(x).probability, dtype=np.float64)


def replay_monitoring(
    *,
    start: dt.date,
    end: dt.date,
    production: ModelVersion,
    injection: Injection | None = None,
    progress: bool = False,
) -> ReplayResult:
    """Walk the sessions of ``start``..``end`` as the nightly checks would, with ``production`` serving
    and its ``previous_production`` scored in shadow. Reads only."""
    reference = selectors.version_reference(version=production)
    if reference is None:
        raise ReplayError(f"{production.label} has no frozen drift reference: retrain it with the training command.")
    sessions = trading_dates(start=start, end=end)
    if not sessions:
        raise ReplayError(f"no stored bars between {start} and {end}: ingest them first.")
    w_drift = settings.VCP_DRIFT_WINDOW_DAYS
    w_deg = settings.VCP_DEGRADATION_WINDOW_DAYS
    n_deg = settings.VCP_DEGRADATION_PERSIST_N
    drift_history = w_drift * settings.VCP_DRIFT_PERSIST_N
    # Features need LOOKBACK dates before the first drift window; the last session needs its label.
    first_needed = nth_trading_date_before(end=sessions[0], lookback=drift_history + w_deg + n_deg) or sessions[0]
    panel_start = nth_trading_date_before(end=first_needed, lookback=spec.LOOKBACK) or first_needed
    after = trading_dates(start=sessions[-1] + dt.timedelta(days=1))[: production.horizon]
    panel = bars_panel(start=panel_start, end=after[-1] if after else sessions[-1], active_only=False)
    data = panel_dataset(panel, horizon=production.horizon)
    dates = [d.astype("datetime64[D]").item() for d in panel.dates]
    index = {d: i for i, d in enumerate(dates)}
    t_first = index[first_needed]
    cube = data.cube.values  # (T, N, F)
    has_bar = panel.has_bar

    # Scores of every stock-day with a bar from the first needed date: production, target, injected.
    t_idx, n_idx = np.nonzero(has_bar[t_first:])
    t_idx = t_idx + t_first
    x = np.ascontiguousarray(cube[t_idx, n_idx], dtype=np.float32)
    shape = has_bar.shape

    def grid(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        out = np.full(shape, np.nan)
        out[t_idx, n_idx] = values
        return out

    versions: dict[int, npt.NDArray[np.float64]] = {production.pk: grid(_score(production, x))}
    target = production.previous_production
    if target is not None and target.feature_set_hash == spec.FEATURE_SET_HASH:
        versions[target.pk] = grid(_score(target, x))
    injected = np.zeros(shape[0], dtype=bool)
    injected_scores = None
    if injection is not None:
        blank = x.copy()
        blank[:, [spec.FEATURE_INDEX[name] for name in injection.blank]] = np.nan
        injected_scores = grid(_score(production, blank))
        first = next((i for i, d in enumerate(dates) if d >= injection.start), len(dates))
        injected[first : first + injection.sessions] = True

    result = ReplayResult(
        production=production.label,
        target=target.label if target else None,
        drift_window_days=w_drift,
        injection=injection,
    )
    alerting: dict[int, list[str]] = {}
    serving = production
    reached_by_rollback = selectors.reached_by_rollback(version=production)
    drops: list[bool] = []
    served_since = 0  # the first day the serving version's own predictions exist (after a rollback)
    horizon = production.horizon
    y_all = data.labels
    hit_all = data.upper_circuit
    t_start = index[sessions[0]]
    t_drift_first = t_start - (settings.VCP_DRIFT_PERSIST_N - 1) * w_drift
    for t in range(max(t_drift_first, t_first + w_drift - 1), index[sessions[-1]] + 1):
        # --- drift, as drift_check: the window's rows, then k of n over windows spaced w_drift apart.
        window_rows = cube[t - w_drift + 1 : t + 1][has_bar[t - w_drift + 1 : t + 1]].astype(np.float64)
        current = window_rows[:, [spec.FEATURE_INDEX[name] for name in reference.names]]
        drift = services.drift_window(version=production, reference=reference, current=current)
        alerting[t] = list(drift.alerting)
        # Evenings before ``start`` only warm up the k-of-n histories, as earlier nightly runs would.
        warm_up = t < t_start
        earlier = [alerting.get(t - i * w_drift, []) for i in range(settings.VCP_DRIFT_PERSIST_N - 1, 0, -1)]
        persistence = services.drift_decide(earlier=earlier, result=drift)

        # --- degradation, as degradation_check on the evening of t: labelled prediction dates before t.
        if not labelled_ok(t, served_since, horizon):
            if not warm_up:
                result.days.append(_quiet_day(dates[t], serving.label, drift, persistence))
            continue
        labelled = list(range(max(t_first, served_since, t - horizon - w_deg + 1), t - horizon + 1))
        judged = serving  # the version whose served predictions this evening's check judges
        served_grid = versions[serving.pk]
        rows_t, rows_n = np.nonzero(has_bar[labelled] & ~np.isnan(y_all[labelled]))
        rows_t = np.asarray(labelled)[rows_t]
        score = served_grid[rows_t, rows_n]
        was_injected = False
        if injected_scores is not None:
            swap = injected[rows_t]
            was_injected = bool(swap.any())
            score = np.where(swap, injected_scores[rows_t, rows_n], score)
        y = y_all[rows_t, rows_n].astype(np.int8)
        hit = hit_all[rows_t, rows_n]
        k = int(serving.metrics.get("k", 20))
        lift = window_lift(y, score, hit, rows_t, k=k)
        check = lift_check(
            lift,
            services.reference_lift(serving),
            earlier_drops=drops,
            min_positives=settings.VCP_DEGRADATION_MIN_POSITIVES,
            **services.lift_check_settings(),
        )
        drops.append(check.dropped)
        action, reason = check.action, check.reason
        if action is DegradationAction.ALERT:
            back = serving.previous_production
            shadow = versions.get(back.pk) if back is not None else None
            days_covered, comparison = (
                services.shadow_comparison(
                    y_true=y,
                    production=score,
                    target=shadow[rows_t, rows_n],
                    day=rows_t,
                    window_days=len(labelled),
                    target_label=back.label if back else "",
                )
                if shadow is not None
                else (0, None)
            )
            facts = RollbackFacts(
                target=back.label if back is not None else None,
                production_reached_by_rollback=reached_by_rollback,
                target_failed_before=back is not None and back.rolled_back_at is not None,
                shadow_days=days_covered,
                window_days=len(labelled),
                comparison=comparison,
            )
            go, why = rollback_decide(facts)
            reason = f"{reason}; {why}"
            if go and back is not None:
                # What the jobs would do: check_degradation (18:40) runs before the batch (18:45), so
                # the target serves from this evening's batch on; one automatic rollback per incident.
                action = DegradationAction.ROLLBACK
                serving = back
                reached_by_rollback = True
                drops = []
                served_since = t
                injected[t:] = False  # the injected scores stood for the rolled-back version
        if warm_up:
            continue
        result.days.append(
            ReplayDay(
                date=dates[t],
                served=judged.label + ("*" if was_injected else ""),
                drift_status=drift.status.value,
                alerting=tuple(drift.alerting),
                retrain_needed=persistence.retrain_needed,
                persistent=persistence.persistent,
                missing_shifted=drift.missing_shifted,
                pr_auc_lift=lift.pr_auc_lift,
                precision_at_k_lift=lift.precision_at_k_lift,
                positives=lift.positives,
                dropped=check.dropped,
                drops_in_last_n=check.drops_in_last_n,
                action=action.value,
                reason=reason,
            )
        )
        if progress and len(result.days) % 50 == 0:
            print(f"  replayed {len(result.days)} sessions up to {dates[t]}", flush=True)
    return result


def labelled_ok(t: int, served_since: int, horizon: int) -> bool:
    """Has the serving version a labelled prediction on the evening of ``t``?"""
    return t - horizon >= served_since


def _quiet_day(date: dt.date, served: str, drift: DriftResult, persistence: Any) -> ReplayDay:
    # The check finds no labelled prediction of the version now serving: "no labels yet".
    return ReplayDay(
        date=date,
        served=served,
        drift_status=drift.status.value,
        alerting=tuple(drift.alerting),
        retrain_needed=persistence.retrain_needed,
        persistent=persistence.persistent,
        missing_shifted=drift.missing_shifted,
        pr_auc_lift=math.nan,
        precision_at_k_lift=math.nan,
        positives=0,
        dropped=False,
        drops_in_last_n=0,
        action=DegradationAction.NONE.value,
        reason="no labels yet",
    )


def format_table(result: ReplayResult) -> list[str]:
    """The day-by-day table: one line per session."""

    def fmt(value: float) -> str:
        return f"{value:+.3f}" if math.isfinite(value) else "   -  "

    lines = [
        f"{'date':<10} {'served':<22} {'drift':<5} {'retrain':<7} {'PR-AUC lift':>11} {'P@k lift':>8} "
        f"{'pos':>5} {'drop':>4} {'n':>3} {'action':<8} why"
    ]
    for d in result.days:
        why = d.reason if d.action != "none" else (", ".join(d.persistent) if d.retrain_needed else "")
        lines.append(
            f"{d.date!s:<10} {d.served:<22} {d.drift_status:<5} {('yes' if d.retrain_needed else 'no'):<7} "
            f"{fmt(d.pr_auc_lift):>11} {fmt(d.precision_at_k_lift):>8} {d.positives:>5} "
            f"{('yes' if d.dropped else 'no'):>4} {d.drops_in_last_n:>3} {d.action:<8} {why}"
        )
    return lines


def summary_lines(result: ReplayResult) -> list[str]:
    days = len(result.days)
    windows = result.windows()
    retrain_windows = sum(d.retrain_needed for d in windows)
    alerts = result.alerts
    rollbacks = result.rollbacks
    lines = [
        f"production {result.production}, rollback target {result.target or 'none'}",
        f"sessions replayed: {days} ({result.days[0].date}..{result.days[-1].date})" if days else "no sessions",
        f"retrain needed: {result.retrain_days} of {days} evenings ({_share(result.retrain_days, days)}); "
        f"{retrain_windows} of {len(windows)} non-overlapping {result.drift_window_days}-session windows "
        f"({_share(retrain_windows, len(windows))})",
        f"features behind retrain-needed evenings: {_counts([f for d in result.days for f in d.persistent])}",
        f"degradation alerts: {len(alerts) + len(rollbacks)} evenings (an alert that rolls back counts once); "
        f"automatic rollbacks: {len(rollbacks)}" + (f" (first on {rollbacks[0].date})" if rollbacks else ""),
    ]
    if result.injection is not None:
        start = result.injection.start
        after = [d for d in result.days if d.date >= start]
        fired = next((i for i, d in enumerate(after) if d.action != "none"), None)
        lines.append(
            f"injection from {start} for {result.injection.sessions} sessions (blanked: "
            f"{', '.join(result.injection.blank)}): first degradation alert "
            + (f"{fired} sessions later, on {after[fired].date}" if fired is not None else "never")
        )
    return lines


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "-"


def _counts(names: Sequence[str]) -> str:
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1])) or "none"
