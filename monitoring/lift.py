"""Degradation judged by the model's lift over the naive rule, and the rollback rules.

Pure (numpy, scikit-learn, the registry's pure metrics), no Django. Every array is 1-D with one
entry per labelled stock-day of the window: ``y_true`` the realised label on the platform truth
(0/1), ``score`` the model's probability, ``hit_today`` whether the stock locked on the prediction
day (the naive rule "it hit today, so it will tomorrow"), ``day`` a per-row date key.

Why lift and not F1 (issue 11): realised F1 moves with the market (correlation 0.98 with the naive
rule's F1 over the same windows), so a healthy model was rolled back in calm markets. The lift, model
minus naive on *the same rows*, cancels the market's swings and keeps what the model adds.

The statistic, the same two measures as the version's test metrics so the two compare
    PR-AUC lift: pooled average precision of ``score`` minus that of ``hit_today`` over the window.
    precision@k lift: mean over days of each day's top-k precision, model minus naive (tie-aware).

The rule
    A window *dropped* when both lifts fall below ``(1 - drop)`` of the version's test lift.
    ALERT when the window dropped in ``k`` of the last ``n`` checks (persistence), with at least
    ``min_positives`` realised positives in the window (fewer: no action, too noisy to judge).
    ROLLBACK only on a persistent drop, and only when every condition of ``rollback_decide`` holds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from modelregistry.evaluation import precision_at_k
from modelregistry.significance import BootstrapResult
from monitoring.performance import DegradationAction

DEFAULT_K = 20
DEFAULT_DROP = 0.5
DEFAULT_PERSIST_K = 3
DEFAULT_PERSIST_N = 5


@dataclass(frozen=True)
class WindowLift:
    """The model and the naive rule scored on the same labelled rows of one window."""

    days: int
    rows: int
    positives: int
    k: int
    model_pr_auc: float  # NaN without a positive
    naive_pr_auc: float
    model_precision_at_k: float
    naive_precision_at_k: float

    @property
    def pr_auc_lift(self) -> float:
        return self.model_pr_auc - self.naive_pr_auc

    @property
    def precision_at_k_lift(self) -> float:
        return self.model_precision_at_k - self.naive_precision_at_k


def window_lift(
    y_true: npt.ArrayLike, score: npt.ArrayLike, hit_today: npt.ArrayLike, day: npt.ArrayLike, *, k: int = DEFAULT_K
) -> WindowLift:
    """PR-AUC and precision@k per day of ``score`` and of ``hit_today`` on the same rows (n,)."""
    y = np.asarray(y_true, dtype=np.float64)
    s = np.asarray(score, dtype=np.float64)
    naive = np.asarray(hit_today, dtype=np.float64)
    days = np.asarray(day)
    if not (len(y) == len(s) == len(naive) == len(days)):
        raise ValueError("y_true, score, hit_today and day differ in length")
    positives = int(y.sum())
    has_both = 0 < positives < len(y)
    from sklearn.metrics import average_precision_score  # lazily: ~0.6 s at import, paid by every manage.py run

    return WindowLift(
        days=len(np.unique(days)),
        rows=len(y),
        positives=positives,
        k=k,
        model_pr_auc=float(average_precision_score(y, s)) if has_both else math.nan,
        naive_pr_auc=float(average_precision_score(y, naive)) if has_both else math.nan,
        model_precision_at_k=precision_at_k(y, s, days, k=k) if len(y) else math.nan,
        naive_precision_at_k=precision_at_k(y, naive, days, k=k) if len(y) else math.nan,
    )


@dataclass(frozen=True)
class ReferenceLift:
    """The version's lift over "hit today" on its own test period (from its registered metrics)."""

    pr_auc_lift: float
    precision_at_k_lift: float


@dataclass(frozen=True)
class LiftCheck:
    """One evening's verdict on the lift, before any rollback question."""

    action: DegradationAction  # NONE or ALERT
    reason: str
    dropped: bool  # this window's lifts are both below (1 - drop) of the test lifts
    drops_in_last_n: int
    persist_k: int
    persist_n: int


def lift_dropped(window: WindowLift, reference: ReferenceLift, *, drop: float = DEFAULT_DROP) -> bool:
    """True when both lifts fall below ``(1 - drop)`` of the test lifts (a NaN lift never drops)."""
    if not 0.0 < drop <= 1.0:
        raise ValueError("drop must lie in (0, 1]")
    pairs = ((window.pr_auc_lift, reference.pr_auc_lift), (window.precision_at_k_lift, reference.precision_at_k_lift))
    return all(math.isfinite(now) and now < (1.0 - drop) * ref for now, ref in pairs)


def lift_check(
    window: WindowLift,
    reference: ReferenceLift | None,
    *,
    earlier_drops: Sequence[bool],
    drop: float = DEFAULT_DROP,
    persist_k: int = DEFAULT_PERSIST_K,
    persist_n: int = DEFAULT_PERSIST_N,
    min_positives: int = 0,
) -> LiftCheck:
    """Alert when the lift dropped in ``persist_k`` of the last ``persist_n`` checks, this one included.

    ``earlier_drops``: the ``dropped`` flags of this version's earlier checks, oldest first."""
    if not 1 <= persist_k <= persist_n:
        raise ValueError(f"need 1 <= k <= n for degradation persistence, got k={persist_k}, n={persist_n}")

    def verdict(action: DegradationAction, reason: str, dropped: bool, count: int) -> LiftCheck:
        return LiftCheck(
            action=action,
            reason=reason,
            dropped=dropped,
            drops_in_last_n=count,
            persist_k=persist_k,
            persist_n=persist_n,
        )

    if reference is None:
        return verdict(DegradationAction.NONE, "the version has no test lift over 'hit today' to compare", False, 0)
    if reference.pr_auc_lift <= 0 or reference.precision_at_k_lift <= 0:
        return verdict(
            DegradationAction.NONE,
            f"the version did not beat 'hit today' on its test period (PR-AUC lift {reference.pr_auc_lift:+.3f}, "
            f"P@{window.k} lift {reference.precision_at_k_lift:+.3f}): a drop of its lift means nothing",
            False,
            0,
        )
    if window.positives < min_positives:
        return verdict(
            DegradationAction.NONE, f"only {window.positives} positives in the window (< {min_positives})", False, 0
        )
    dropped = lift_dropped(window, reference, drop=drop)
    count = sum(bool(d) for d in [*list(earlier_drops)[-(persist_n - 1) :], dropped]) if persist_n > 1 else int(dropped)
    figures = (
        f"PR-AUC lift {window.pr_auc_lift:+.3f} (test {reference.pr_auc_lift:+.3f}), "
        f"P@{window.k} lift {window.precision_at_k_lift:+.3f} (test {reference.precision_at_k_lift:+.3f})"
    )
    if count >= persist_k:
        return verdict(
            DegradationAction.ALERT,
            f"lift over 'hit today' below {1 - drop:.0%} of its test value in {count} of the last {persist_n} "
            f"checks: {figures}",
            dropped,
            count,
        )
    state = "dropped" if dropped else "holds"
    return verdict(
        DegradationAction.NONE,
        f"lift {state} ({count} of the last {persist_n} checks below {1 - drop:.0%} of test; alert at "
        f"{persist_k}): {figures}",
        dropped,
        count,
    )


@dataclass(frozen=True)
class RollbackFacts:
    """What the rollback rules need to know, gathered by the caller (service or replay)."""

    target: str | None  # the rollback target's label; None: there is none
    production_reached_by_rollback: bool  # production came back through a rollback: this incident had its one
    target_failed_before: bool  # the target was itself rolled back out of production once
    shadow_days: int  # window days on which the target was scored in shadow
    window_days: int  # labelled days of the window
    comparison: BootstrapResult | None  # PR-AUC(target) - PR-AUC(production), day-block bootstrap, same rows


def rollback_decide(facts: RollbackFacts) -> tuple[bool, str]:
    """Roll back only to a shadow-scored version that is better on the same window by a day-block
    bootstrap interval above zero, that never failed before, and never twice in one incident
    (no chains v2 -> v1 -> v0: after one automatic rollback a person decides)."""
    if facts.target is None:
        return False, "no rollback target: a person must decide (retrain, or promote another version)"
    if facts.production_reached_by_rollback:
        return False, (
            f"production itself came back through a rollback: one automatic rollback per incident, "
            f"so a person must decide (not rolling back to {facts.target})"
        )
    if facts.target_failed_before:
        return False, f"{facts.target} was rolled back out of production before: it failed once, not going back"
    if facts.shadow_days < facts.window_days or facts.comparison is None:
        return False, (
            f"{facts.target} was scored in shadow on {facts.shadow_days} of the window's {facts.window_days} days: "
            "no evidence it is better on the same rows"
        )
    c = facts.comparison
    text = (
        f"{facts.target} PR-AUC {c.pr_auc_a:.3f} vs production {c.pr_auc_b:.3f} on the same rows, difference "
        f"{c.difference:+.3f} (95% day-block interval {c.low:+.3f}..{c.high:+.3f}, {c.n_days} days)"
    )
    if c.low > 0:
        return True, text
    return False, f"{text}: not better beyond noise, so no rollback"
