"""Feature drift: PSI on bins frozen at training time, and the two-sample KS test (scipy).

Pure numpy/scipy, no Django. ``values`` arrays are float64 shaped ``(rows, F features)``: one row
per stock-day, columns in the order of the model's feature names. Non-finite values (NaN, +-inf)
count as *missing*.

Reference (frozen when a model version is trained, stored as JSON on the version)
    Per feature: ``edges``, the interior cut points at the 10%, 20%, ..., 90% quantiles of the
    training values (``method="inverted_cdf"``, so every edge is an observed value), deduplicated,
    so a discrete feature such as a circuit count gets one bin per distinct value instead of empty
    slivers. Bins are right-closed and open at both ends: ``(-inf, e0], (e0, e1], ..., (e_k, +inf)``,
    so a value outside the training range still lands in an outer bin. ``proportions`` has one
    entry per value bin plus a final *missing* bin, and sums to 1 over all rows.

Missing values
    The checks use ``include_missing=False``: PSI and KS compare finite values only, and the
    missing share is reported apart as a *missing-rate change* (``missing_change``, flagged
    ``missing_shift`` beyond ``missing_tolerance``), never mixed into PSI: a population mismatch
    alone once added 0.42 to one feature's PSI (issue 11). ``include_missing=True`` keeps the old
    missing bin (it contributes exactly 0 when neither side has missing values).

Population
    The reference records which rows it was frozen on (``FeatureReference.population``); the
    service filters the day's rows the same way before calling ``drift_report``.

Level features
    ``LEVEL_FEATURES`` trend with the market itself (turnover grows, prices rise): their level
    drifts every year by construction. They are measured and shown, but ``excluded`` from the
    decision with the stated reason; the degradation check (lift over "hit today") judges whether
    the model still ranks well with them.

Persistence
    One window over the threshold is not "retrain needed": ``drift_persistence`` asks for the same
    feature at ALERT in ``k`` of the last ``n`` windows (settings ``VCP_DRIFT_PERSIST_K``/``_N``).

PSI
    ``sum_i (c_i - r_i) * ln(c_i / r_i)`` over the bins, with both proportions floored at ``eps``
    (1e-4) so an empty bin gives a large but finite term. The floored proportions are not
    renormalised. Fixed reading: below 0.1 OK, 0.1 to 0.25 WARN, 0.25 and above ALERT.

Sample-size-aware threshold
    Under "no drift", with reference and current both random samples of one population,
    ``PSI ~ (1/n_ref + 1/n_cur) * chi2(B - 1)`` approximately (B occupied bins; Yurdakul 2018,
    "Statistical Properties of Population Stability Index", Western Michigan University). Its
    ``1 - alpha`` quantile is the PSI that sampling noise alone exceeds with probability alpha. A
    fixed 0.25 is far above the noise for a full day's universe (~2,000 stocks: about 0.009 with 11
    bins) but below it for a few dozen rows, so a status above OK also requires the PSI to exceed
    this critical value (at alpha / F, F features) and at least ``min_rows`` current rows (200): the
    approximation needs a handful of rows per bin, and with fewer an empty bin's eps-floored term
    alone exceeds it.

Watched features
    ``drift_report(..., watched=names)`` lets only those features set the overall status (and so
    "retrain needed"); every feature is still measured and reported. On the real 2015-2022 data the
    trend features drift with the market cycle every month (docs/monitoring.md), so an operator may
    want the status to follow the features the model leans on.

KS
    ``scipy.stats.ks_2samp`` between a compact reference sample and the current finite values. The
    sample is the 1,000 evenly spaced quantiles at probabilities ``(i + 0.5) / 1000``: deterministic
    (the same JSON every time, unlike a seeded subsample whose draws change with the row order),
    and its empirical CDF stays within 1/2000 of the full training CDF, so the statistic is that of
    the full reference to within 0.0005. The p-value treats the reference as 1,000 draws, which is
    conservative against a multi-million-row training set.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from features.reference import (
    FeatureReference,
    as_columns,
    bin_proportions,
)

FloatArray = npt.NDArray[np.float64]

DEFAULT_EPS = 1e-4
PSI_WARN = 0.1
PSI_ALERT = 0.25
# Below ~20 expected rows per decile bin the chi-square approximation under-states PSI's noise
# (empty bins floored at eps dominate): measured in docs/monitoring.md.
DEFAULT_MIN_ROWS = 200
# A change of the missing share beyond this (absolute, 0-1) is flagged apart from PSI.
MISSING_TOLERANCE = 0.05

# Features whose level follows the market, not the stocks' setups: excluded from the decision.
LEVEL_FEATURES: dict[str, str] = {
    "log_traded_value20": "level feature: rupee turnover grows with the market year on year, so its level "
    "drifts by construction (issue 11: it drove most 2021-2022 alerts)",
    "log_close": "level feature: the raw, unadjusted price rises with the market and jumps at splits",
}


class DriftStatus(StrEnum):
    OK = "ok"
    WARN = "warn"
    ALERT = "alert"

    @property
    def level(self) -> int:
        """0, 1, 2: what the ``vcp_drift_status`` gauge exports."""
        return _STATUS_ORDER.index(self)


_STATUS_ORDER: tuple[DriftStatus, ...] = (DriftStatus.OK, DriftStatus.WARN, DriftStatus.ALERT)


@dataclass(frozen=True)
class FeatureDrift:
    name: str
    psi: float
    psi_critical: float  # sample-size-aware critical value at the report's alpha / F
    significant: bool  # psi > psi_critical
    enough_data: bool  # n_current >= the report's min_rows
    ks_statistic: float  # NaN when either side has no finite value
    ks_pvalue: float
    n_reference: int  # rows (finite values only when the report excludes missing values)
    n_current: int
    missing_share_reference: float
    missing_share_current: float
    status: DriftStatus
    missing_change: float = 0.0  # current - reference missing share, reported apart from PSI
    missing_shift: bool = False  # |missing_change| > the report's missing_tolerance


@dataclass(frozen=True)
class DriftResult:
    features: tuple[FeatureDrift, ...]
    status: DriftStatus  # the worst status among the watched features
    n_reference: int
    n_current: int
    alpha: float  # family-wise: each feature is tested at alpha / F
    min_rows: int
    psi_warn: float
    psi_alert: float
    include_missing: bool
    watched: tuple[str, ...] = ()  # features that set the overall status; empty: all of them
    excluded: dict[str, str] = field(default_factory=dict)  # feature -> why it never decides
    missing_tolerance: float = MISSING_TOLERANCE

    @property
    def retrain_needed(self) -> bool:
        """This one window is at ALERT; the service adds the persistence rule before it says so."""
        return self.status is DriftStatus.ALERT

    @property
    def drifted_features(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features if f.status is not DriftStatus.OK)

    def deciding(self, name: str) -> bool:
        return name not in self.excluded and (not self.watched or name in self.watched)

    @property
    def alerting(self) -> tuple[str, ...]:
        """Deciding features at ALERT in this window: what the persistence rule counts."""
        return tuple(f.name for f in self.features if f.status is DriftStatus.ALERT and self.deciding(f.name))

    @property
    def missing_shifted(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features if f.missing_shift)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: statuses as strings, NaN KS values and an infinite critical value as None."""
        out = asdict(self)
        out["status"] = self.status.value
        for feature in out["features"]:
            feature["status"] = feature["status"].value
            for key in ("ks_statistic", "ks_pvalue", "psi_critical"):
                if not math.isfinite(feature[key]):
                    feature[key] = None
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DriftResult:
        """The inverse of ``to_dict`` (a stored report back to the dataclass)."""
        missing = {"ks_statistic": math.nan, "ks_pvalue": math.nan, "psi_critical": math.inf}
        features = tuple(
            FeatureDrift(
                **{
                    **f,
                    **{key: fallback for key, fallback in missing.items() if f[key] is None},
                    "status": DriftStatus(f["status"]),
                }
            )
            for f in data["features"]
        )
        return cls(
            **{
                **data,
                "features": features,
                "status": DriftStatus(data["status"]),
                "watched": tuple(data.get("watched", ())),
                "excluded": dict(data.get("excluded", {})),
            }
        )


def psi(
    reference_proportions: npt.ArrayLike,
    current_values: npt.ArrayLike,
    edges: npt.ArrayLike,
    eps: float = DEFAULT_EPS,
) -> float:
    """Population stability index of ``current_values`` (1-D) against frozen bins.

    ``reference_proportions`` has ``len(edges) + 2`` entries (value bins, then the missing bin) or
    ``len(edges) + 1`` (value bins only: missing values are then excluded). Proportions below
    ``eps`` are floored at ``eps``. Returns 0.0 for an empty current sample."""
    ref = np.asarray(reference_proportions, dtype=np.float64)
    n_edges = len(np.asarray(edges))
    if len(ref) not in (n_edges + 1, n_edges + 2):
        raise ValueError(f"{len(ref)} reference proportions do not fit {n_edges} edges")
    cur = bin_proportions(current_values, edges, include_missing=len(ref) == n_edges + 2)
    if cur.sum() == 0:
        return 0.0
    r = np.maximum(ref, eps)
    c = np.maximum(cur, eps)
    return float(np.sum((c - r) * np.log(c / r)))


def ks(reference_sample: npt.ArrayLike, current_values: npt.ArrayLike) -> tuple[float, float]:
    """Two-sample KS (statistic, p-value) over finite values; (NaN, NaN) when either side is empty."""
    ref = np.asarray(reference_sample, dtype=np.float64)
    cur = np.asarray(current_values, dtype=np.float64)
    ref, cur = ref[np.isfinite(ref)], cur[np.isfinite(cur)]
    if len(ref) == 0 or len(cur) == 0:
        return (math.nan, math.nan)
    from scipy import stats  # lazily: scipy.stats costs ~2 s at import, and every manage.py run loads this module

    result = stats.ks_2samp(ref, cur)
    return (float(result.statistic), float(result.pvalue))


def psi_threshold_for_sample_size(n_ref: int, n_cur: int, bins: int, alpha: float = 0.05) -> float:
    """The PSI that sampling noise alone exceeds with probability ``alpha`` (Yurdakul 2018):
    the ``1 - alpha`` quantile of chi2(bins - 1) scaled by ``1/n_ref + 1/n_cur``. With one bin or
    fewer the PSI is 0 under "no drift", so the threshold is 0."""
    if n_ref <= 0 or n_cur <= 0:
        raise ValueError("sample sizes must be positive")
    if not 0.0 < alpha < 1.0:
        raise ValueError("alpha must lie in (0, 1)")
    if bins <= 1:
        return 0.0
    from scipy import stats

    return float(stats.chi2.ppf(1.0 - alpha, bins - 1) * (1.0 / n_ref + 1.0 / n_cur))


def psi_status(value: float, *, warn: float = PSI_WARN, alert: float = PSI_ALERT) -> DriftStatus:
    """The fixed reading of a PSI: OK below ``warn``, WARN below ``alert``, ALERT from ``alert`` on."""
    if value >= alert:
        return DriftStatus.ALERT
    if value >= warn:
        return DriftStatus.WARN
    return DriftStatus.OK


def drift_report(
    reference: FeatureReference,
    current: npt.ArrayLike,
    *,
    alpha: float = 0.05,
    min_rows: int = DEFAULT_MIN_ROWS,
    warn: float = PSI_WARN,
    alert: float = PSI_ALERT,
    eps: float = DEFAULT_EPS,
    require_significance: bool = True,
    include_missing: bool = True,
    watched: Sequence[str] | None = None,
    excluded: Mapping[str, str] | None = None,
    missing_tolerance: float = MISSING_TOLERANCE,
) -> DriftResult:
    """PSI and KS of each column of ``current`` (rows, F, in ``reference.names`` order).

    A feature's status is the fixed PSI reading, lowered to OK when ``require_significance`` and
    either the PSI does not exceed its critical value or the feature has fewer than ``min_rows``
    current values. Critical values are at ``alpha / F`` (Bonferroni), so ``alpha`` bounds the chance
    that *some* feature of a drift-free report is significant. The overall status is the worst
    status among the ``watched`` features (all when None or empty) minus the ``excluded`` ones
    (feature -> reason; every feature is still reported); ALERT in enough windows
    (``drift_persistence``) means "retrain needed". ``missing_change`` is each feature's missing
    share now minus at training, flagged beyond ``missing_tolerance``. With ``include_missing``
    False the missing bin is left out and PSI, KS and the sample sizes use finite values only (a
    feature with none on either side then reads PSI 0, critical value +inf)."""
    arr = as_columns(current)
    if arr.shape[1] != len(reference.features):
        raise ValueError(f"current has {arr.shape[1]} columns, the reference {len(reference.features)}")
    if arr.shape[0] == 0:
        raise ValueError("cannot check drift on zero rows")
    watch = tuple(watched or ())
    unknown = sorted(set(watch) - set(reference.names))
    if unknown:
        raise ValueError(f"watched features {unknown} are not in the reference")
    skip = {name: reason for name, reason in (excluded or {}).items() if name in reference.names}
    n_rows = arr.shape[0]
    feature_alpha = alpha / len(reference.features)
    results = []
    for j, base in enumerate(reference.features):
        column = arr[:, j]
        finite = int(np.count_nonzero(np.isfinite(column)))
        if include_missing:
            ref_props, n_ref, n_cur = base.proportions, base.rows, n_rows
        else:
            ref_props, n_ref, n_cur = base.value_proportions(), base.count, finite
        value = psi(ref_props, column, base.edges, eps=eps)
        occupied = sum(1 for p in ref_props if p > 0.0)
        critical = (
            psi_threshold_for_sample_size(n_ref, n_cur, occupied, alpha=feature_alpha) if n_ref and n_cur else math.inf
        )
        significant = value > critical
        enough_data = n_cur >= min_rows
        status = psi_status(value, warn=warn, alert=alert)
        if require_significance and not (significant and enough_data):
            status = DriftStatus.OK
        statistic, pvalue = ks(base.sample, column)
        missing_change = (1.0 - finite / n_rows) - base.missing_share
        results.append(
            FeatureDrift(
                name=base.name,
                psi=value,
                psi_critical=critical,
                significant=significant,
                enough_data=enough_data,
                ks_statistic=statistic,
                ks_pvalue=pvalue,
                n_reference=n_ref,
                n_current=n_cur,
                missing_share_reference=base.missing_share,
                missing_share_current=1.0 - finite / n_rows,
                status=status,
                missing_change=missing_change,
                missing_shift=abs(missing_change) > missing_tolerance,
            )
        )
    deciding = [f.status for f in results if f.name not in skip and (not watch or f.name in watch)]
    overall = max(deciding, key=lambda s: s.level, default=DriftStatus.OK)
    return DriftResult(
        features=tuple(results),
        status=overall,
        n_reference=reference.rows,
        n_current=n_rows,
        alpha=alpha,
        min_rows=min_rows,
        psi_warn=warn,
        psi_alert=alert,
        include_missing=include_missing,
        watched=watch,
        excluded=skip,
        missing_tolerance=missing_tolerance,
    )


@dataclass(frozen=True)
class DriftPersistence:
    """The persistence rule over the last ``n`` windows (oldest first, the current one last)."""

    retrain_needed: bool
    persistent: tuple[str, ...]  # features at ALERT in >= k of the windows, most often first
    counts: dict[str, int]  # feature -> windows at ALERT among the last n
    windows: int  # windows available (< n early in a version's life)
    k: int
    n: int

    @property
    def reason(self) -> str:
        if self.retrain_needed:
            named = ", ".join(f"{name} ({self.counts[name]}/{self.windows})" for name in self.persistent)
            return f"over the PSI alert threshold in at least {self.k} of the last {self.n} windows: {named}"
        worst = max(self.counts.values(), default=0)
        return f"no feature at ALERT in {self.k} of the last {self.n} windows (most: {worst} of {self.windows})"


def drift_persistence(windows: Sequence[Iterable[str]], *, k: int, n: int) -> DriftPersistence:
    """Apply "the same feature over threshold in ``k`` of the last ``n`` windows" to ``windows``: the
    alerting features of each window (``DriftResult.alerting``), oldest first, the current one last."""
    if not 1 <= k <= n:
        raise ValueError(f"need 1 <= k <= n for drift persistence, got k={k}, n={n}")
    recent = [set(w) for w in list(windows)[-n:]]
    counts: dict[str, int] = {}
    for window in recent:
        for name in window:
            counts[name] = counts.get(name, 0) + 1
    persistent = tuple(sorted((name for name, c in counts.items() if c >= k), key=lambda m: (-counts[m], m)))
    return DriftPersistence(
        retrain_needed=bool(persistent), persistent=persistent, counts=counts, windows=len(recent), k=k, n=n
    )
