"""The promotion gate: may a challenger replace production?

``promote_model --best`` and the monthly challenger (``modelregistry.tasks``) ask this before they
promote. The challenger passes when, on the latest sessions that *neither* model trained on (nor
validated on), its PR-AUC beats the "hit today" rule with a day-block bootstrap interval above zero
(``significance.pr_auc_difference_ci``), and it ranks at least as well as the production version on
those same rows. Anything else is a refusal whose reason the registry records.

Both models are scored here from stored bars, with their own exported ONNX files, on the platform's
label: the gate does not trust the numbers a version brought with it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from django.conf import settings

from features import spec
from marketdata.selectors import bars_panel, nth_trading_date_before, trading_dates
from modelregistry import artifacts
from modelregistry.datasets import panel_dataset
from modelregistry.models import ModelVersion
from modelregistry.runtime import OnnxScorer
from modelregistry.significance import pr_auc_difference_ci
from modelregistry.training import INFO_HIT_TODAY, INFO_SERIES

# The window: the latest 60 sessions neither model saw. Fewer than 20 days cannot separate
# a real lift from a lucky month (the interval is too wide), so the gate refuses instead.
GATE_SESSIONS = 60
MIN_GATE_SESSIONS = 20
GATE_BOOTSTRAP = 1000


@dataclass(frozen=True)
class GateVerdict:
    """What the gate measured and decided; ``to_dict`` is stored with the registry event."""

    passed: bool
    reason: str
    candidate: str
    production: str | None = None
    sessions: int = 0
    first_day: str | None = None
    last_day: str | None = None
    rows: int = 0
    positives: int = 0
    candidate_pr_auc: float | None = None
    hit_today_pr_auc: float | None = None
    production_pr_auc: float | None = None
    lift: float | None = None
    lift_low: float | None = None
    lift_high: float | None = None
    vs_production: float | None = None
    vs_production_low: float | None = None
    vs_production_high: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"gate": asdict(self)}


def seen_until(version: ModelVersion) -> dt.date:
    """The last date whose rows shaped ``version``: its validation end (early stopping, calibration and
    thresholds were chosen there), or its training end for a refit, which has no validation."""
    return version.valid_end or version.train_end


def _scope_series(version: ModelVersion) -> tuple[str, ...]:
    tokens = str(version.training_config.get("universe", "all")).replace(" ", ",").split(",")
    return tuple(t.strip().upper() for t in tokens if t.strip() and t.strip().upper() not in ("ALL", "NSE", "BSE"))


def _scorer(version: ModelVersion) -> OnnxScorer:
    loaded = artifacts.load(settings.VCP_ARTIFACT_ROOT, name=version.name, version=str(version.version), native=False)
    return OnnxScorer.from_artifact(loaded)


def _columns(x: npt.NDArray[np.float32], names: tuple[str, ...]) -> npt.NDArray[np.float32]:
    index = [spec.FEATURE_INDEX[name] for name in names]
    return x[:, index]


def _unscorable(version: ModelVersion) -> str | None:
    if version.feature_set_hash != spec.FEATURE_SET_HASH:
        return (
            f"{version.label} was trained on another feature set ({version.feature_set_hash[:12]}) than this code "
            f"computes ({spec.FEATURE_SET_HASH[:12]}); retrain it"
        )
    return None


def challenger_verdict(
    candidate: ModelVersion,
    production: ModelVersion | None,
    *,
    sessions: int = GATE_SESSIONS,
    min_sessions: int = MIN_GATE_SESSIONS,
    n_boot: int = GATE_BOOTSTRAP,
) -> GateVerdict:
    """Score ``candidate`` (and ``production``) on the latest ``sessions`` labelled sessions after both
    models' last seen day, and decide. Never raises for a model or data problem: it refuses."""
    base: dict[str, Any] = {"candidate": candidate.label, "production": production.label if production else None}
    for version in (candidate, production):
        problem = _unscorable(version) if version is not None else None
        if problem:
            return GateVerdict(passed=False, reason=f"Not promoted: {problem}.", **base)
    cutoff = max(seen_until(v) for v in (candidate, production) if v is not None)
    after = trading_dates(start=cutoff + dt.timedelta(days=1))
    # The last stored date has no next-day bar yet, so it has no label.
    labelled = after[:-1][-sessions:] if len(after) > 1 else []
    if len(labelled) < min_sessions:
        return GateVerdict(
            passed=False,
            reason=(
                f"Not promoted: only {len(labelled)} labelled sessions after {cutoff} that neither model trained "
                f"or validated on; the gate needs at least {min_sessions}. Wait for more sessions, or train the "
                "challenger with an earlier --valid-end."
            ),
            sessions=len(labelled),
            **base,
        )
    first, last = labelled[0], labelled[-1]
    panel = bars_panel(
        start=nth_trading_date_before(end=first, lookback=spec.LOOKBACK) or first, end=after[-1], active_only=False
    )
    data = panel_dataset(panel, horizon=candidate.horizon)
    rows = data.dataset
    days = rows.dates[rows.date_idx]
    keep = (days >= np.datetime64(first, "D")) & (days <= np.datetime64(last, "D"))
    series = _scope_series(candidate)
    if series:
        keep &= np.isin(rows.info[INFO_SERIES], series)
    rows = rows.take(keep)
    if rows.n_positive == 0:
        return GateVerdict(
            passed=False,
            reason=f"Not promoted: no stock locked at its upper circuit between {first} and {last}; nothing to rank.",
            sessions=len(labelled),
            first_day=str(first),
            last_day=str(last),
            rows=len(rows),
            **base,
        )
    y = rows.y.astype(np.float64)
    day = rows.date_idx
    hit_today = np.asarray(rows.info[INFO_HIT_TODAY], dtype=np.float64)
    try:
        challenger_p = _scorer(candidate).predict_proba(_columns(rows.X, tuple(candidate.feature_names)))
        production_p = (
            _scorer(production).predict_proba(_columns(rows.X, tuple(production.feature_names)))
            if production is not None
            else None
        )
    except (artifacts.ArtifactIntegrityError, FileNotFoundError, KeyError, ValueError) as exc:
        return GateVerdict(passed=False, reason=f"Not promoted: a model could not be scored: {exc}.", **base)
    lift = pr_auc_difference_ci(y_true=y, score_a=challenger_p, score_b=hit_today, days=day, n_boot=n_boot)
    measured: dict[str, Any] = {
        **base,
        "sessions": len(labelled),
        "first_day": str(first),
        "last_day": str(last),
        "rows": len(rows),
        "positives": int(rows.n_positive),
        "candidate_pr_auc": lift.pr_auc_a,
        "hit_today_pr_auc": lift.pr_auc_b,
        "lift": lift.difference,
        "lift_low": lift.low,
        "lift_high": lift.high,
    }
    window = f"{len(labelled)} sessions {first}..{last} that neither model saw"
    if production_p is not None:
        versus = pr_auc_difference_ci(y_true=y, score_a=challenger_p, score_b=production_p, days=day, n_boot=n_boot)
        measured.update(
            production_pr_auc=versus.pr_auc_b,
            vs_production=versus.difference,
            vs_production_low=versus.low,
            vs_production_high=versus.high,
        )
    lift_text = (
        f"PR-AUC {lift.pr_auc_a:.3f} against {lift.pr_auc_b:.3f} for 'hit today', lift {lift.difference:+.3f} "
        f"(95% day-block interval {lift.low:+.3f}..{lift.high:+.3f})"
    )
    if not lift.low > 0:
        return GateVerdict(
            passed=False,
            reason=f"Not promoted: on {window}, {lift_text}; the interval does not lie above zero.",
            **measured,
        )
    if production_p is not None and measured["vs_production"] < 0:
        return GateVerdict(
            passed=False,
            reason=(
                f"Not promoted: on {window}, {lift_text}, but it ranks below {production.label if production else ''} "
                f"(PR-AUC {measured['production_pr_auc']:.3f}, difference {measured['vs_production']:+.3f})."
            ),
            **measured,
        )
    versus_text = (
        f"; {production.label} scores {measured['production_pr_auc']:.3f} on the same rows"
        if production is not None
        else ""
    )
    return GateVerdict(passed=True, reason=f"Gate passed on {window}: {lift_text}{versus_text}.", **measured)
