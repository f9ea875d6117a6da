"""Metrics for next-day upper-circuit predictions, with the naive baselines on the same rows.

Pure module (no Django). Every array is per row ``(R,)``: ``y_true`` 0/1, ``proba`` calibrated
probabilities in [0, 1], ``day`` any per-row date key (datetime64 or a date index) that groups rows
into trading days. Results are plain dicts of Python numbers (``None`` where a metric is undefined,
e.g. ROC-AUC on a slice with one class), ready for JSON.

Baselines, scored on exactly the rows the model is scored on:

- ``hit_today``: "it hit its upper circuit today, so it will tomorrow" (score and decision = today's flag).
- ``momentum_top_k``: each day's top k by 20-day return are the positive decisions; its PR-AUC and
  ROC-AUC use the return itself as the score (missing returns rank last).

Slices: ``new_circuits`` (stocks that did not hit an upper circuit today: the base rate is ~1.5% and
the model's real value lies there), ``series_eq`` and ``series_other`` (EQ is much harder than BE/SME).

precision@k is computed per day and averaged over days. Ties are counted at their expected value
under a random tie-break (a day whose k-th score is shared by g rows, p of them positive, gets
``p/g`` per remaining slot), so a constant score such as the 0/1 "hit today" flag is neither
flattered nor punished by row order. A day with fewer than k rows is scored on all its rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

DEFAULT_K = 20


def _day_groups(day: npt.ArrayLike) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Row order sorted by day, and the start offset of each day in that order."""
    _, codes = np.unique(np.asarray(day), return_inverse=True)
    order = np.argsort(codes, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(codes[order]) != 0])
    return order, starts


def _ranking_score(score: npt.ArrayLike) -> FloatArray:
    """Scores as float64 with NaN ranked below everything else."""
    s = np.asarray(score, dtype=np.float64)
    return np.where(np.isnan(s), -np.inf, s)


def precision_at_k(y_true: npt.ArrayLike, score: npt.ArrayLike, day: npt.ArrayLike, *, k: int = DEFAULT_K) -> float:
    """Mean over days of the share of positives among each day's k highest scores (tie-aware)."""
    y = np.asarray(y_true, dtype=np.float64)
    s = _ranking_score(score)
    if len(y) == 0:
        return float("nan")
    order, starts = _day_groups(day)
    per_day = []
    for rows in np.split(order, starts[1:]):
        ys, ss = y[rows], s[rows]
        take = min(k, len(rows))
        kth = np.partition(ss, len(ss) - take)[len(ss) - take]
        above = ss > kth
        tied = ss == kth
        expected_hits = ys[above].sum() + (take - above.sum()) * ys[tied].mean()
        per_day.append(expected_hits / take)
    return float(np.mean(per_day))


def top_k_per_day(score: npt.ArrayLike, day: npt.ArrayLike, *, k: int = DEFAULT_K) -> BoolArray:
    """True for each day's k highest scores (missing scores never chosen; ties by row order)."""
    s = _ranking_score(score)
    codes = np.unique(np.asarray(day), return_inverse=True)[1]
    order = np.lexsort((-s, codes))
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, np.diff(sorted_codes) != 0])
    rank_in_day = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    chosen = np.zeros(len(s), dtype=bool)
    chosen[order] = rank_in_day < k
    return chosen & np.isfinite(s)


def _safe(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def classification_metrics(
    y_true: npt.ArrayLike,
    score: npt.ArrayLike,
    decision: npt.ArrayLike,
    *,
    day: npt.ArrayLike,
    k: int = DEFAULT_K,
) -> dict[str, Any]:
    """F1, precision, recall and the confusion matrix of ``decision``; PR-AUC (average precision),
    ROC-AUC and precision@k of ``score``; counts and base rate.
    """
    # Imported here: sklearn costs ~0.65 s at import, and the admin imports this module at every start.
    from sklearn.metrics import average_precision_score, confusion_matrix, roc_auc_score

    y = np.asarray(y_true, dtype=np.float64).astype(int)
    s = _ranking_score(score)
    d = np.asarray(decision, dtype=bool)
    n = len(y)
    positives = int(y.sum())
    tn, fp, fn, tp = (int(v) for v in confusion_matrix(y, d.astype(int), labels=[0, 1]).ravel()) if n else (0,) * 4
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    both_classes = 0 < positives < n
    # Average precision needs finite scores; -inf (missing) becomes just below the lowest real score.
    finite = np.where(np.isfinite(s), s, (s[np.isfinite(s)].min() - 1.0) if np.isfinite(s).any() else 0.0)
    return {
        "rows": n,
        "positives": positives,
        "base_rate": positives / n if n else None,
        "days": len(np.unique(np.asarray(day))) if n else 0,
        "predicted_positive": int(d.sum()),
        "f1": f1,
        "precision": precision,
        "recall": recall,
        "pr_auc": _safe(average_precision_score(y, finite)) if positives else None,
        "roc_auc": _safe(roc_auc_score(y, finite)) if both_classes else None,
        f"precision_at_{k}": _safe(precision_at_k(y, s, day, k=k)) if n else None,
        "confusion": {"tn": tn, "fp": fp, "fn": fn, "tp": tp},
    }


def _report(
    y: FloatArray,
    proba: FloatArray,
    threshold: float,
    day: np.ndarray,
    hit_today: BoolArray | None,
    momentum: FloatArray | None,
    k: int,
) -> dict[str, Any]:
    out: dict[str, Any] = {"model": classification_metrics(y, proba, proba >= threshold, day=day, k=k)}
    baselines: dict[str, Any] = {}
    if hit_today is not None:
        baselines["hit_today"] = classification_metrics(y, hit_today.astype(np.float64), hit_today, day=day, k=k)
    if momentum is not None:
        baselines["momentum_top_k"] = classification_metrics(
            y, momentum, top_k_per_day(momentum, day, k=k), day=day, k=k
        )
    out["baselines"] = baselines
    return out


def evaluate(
    y_true: npt.ArrayLike,
    proba: npt.ArrayLike,
    threshold: float,
    *,
    day: npt.ArrayLike,
    hit_today: npt.ArrayLike | None = None,
    momentum: npt.ArrayLike | None = None,
    series: npt.ArrayLike | None = None,
    k: int = DEFAULT_K,
) -> dict[str, Any]:
    """Model and baseline metrics on all rows and on the slices (see the module docstring).

    ``hit_today`` ``(R,)`` bool: the stock hit its upper circuit on the row's day. ``momentum``
    ``(R,)`` 20-day return (NaN allowed). ``series`` ``(R,)`` str. Slices whose input is not given
    are left out.
    """
    y = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(proba, dtype=np.float64)
    d = np.asarray(day)
    if not (len(y) == len(p) == len(d)):
        raise ValueError(f"y_true, proba and day must have one value per row: {len(y)}, {len(p)}, {len(d)}")
    if np.isnan(y).any() or np.isnan(p).any():
        raise ValueError("y_true and proba must not contain NaN: evaluate rows with a known label only")
    flag = None if hit_today is None else np.asarray(hit_today, dtype=bool)
    mom = None if momentum is None else np.asarray(momentum, dtype=np.float64)

    def part(mask: BoolArray | None) -> dict[str, Any]:
        if mask is None:
            return _report(y, p, threshold, d, flag, mom, k)
        return _report(
            y[mask],
            p[mask],
            threshold,
            d[mask],
            None if flag is None else flag[mask],
            None if mom is None else mom[mask],
            k,
        )

    report: dict[str, Any] = {"threshold": float(threshold), "k": k, "all": part(None)}
    if flag is not None:
        report["new_circuits"] = part(~flag)
    if series is not None:
        is_eq = np.asarray(series).astype(str) == "EQ"
        report["series_eq"] = part(is_eq)
        report["series_other"] = part(~is_eq)
    return report


def feature_importance(model: Any, feature_names: tuple[str, ...]) -> dict[str, float]:
    """Total split gain per feature, as shares summing to 1, highest first (unused features get 0).

    Works for an xgboost Booster (trained with default f0..fN names) and a lightgbm Booster.
    """
    module = type(model).__module__
    if module.startswith("xgboost"):
        by_key = model.get_score(importance_type="total_gain")
        booster_names = model.feature_names or [f"f{i}" for i in range(len(feature_names))]
        gains = np.array([by_key.get(key, 0.0) for key in booster_names], dtype=np.float64)
    elif module.startswith("lightgbm"):
        gains = np.asarray(model.feature_importance(importance_type="gain"), dtype=np.float64)
    else:
        raise TypeError(f"not an xgboost or lightgbm Booster: {type(model).__name__}")
    if len(gains) != len(feature_names):
        raise ValueError(f"model has {len(gains)} features, {len(feature_names)} names given")
    total = gains.sum()
    shares = gains / total if total > 0 else gains
    order = np.argsort(-shares, kind="stable")
    return {feature_names[i]: float(shares[i]) for i in order}


# --- three truths ---------------------------------------------------------------------------------
# A metric on the platform's own label proves only self-consistency, so every evaluation also scores
# against independent definitions of a lock computed from raw prices (marketdata.circuits), each
# beside the two naive rules on the same rows.
TRUTH_NAMES: tuple[str, ...] = ("platform", "strict", "lock")
NAIVE_RULES: tuple[str, ...] = ("hit_today", "count_5d")


@dataclass(frozen=True)
class Truth:
    """One definition of "locked at the upper circuit", on the evaluated rows (R,).

    ``y``: the next-day label (0/1). ``hit_today``: the stock was locked on the row's own day (the
    "hit today" rule, and the complement of the new-circuit slice). ``count_5d``: locks over the
    last 5 dates, the day included (the "count over 5 days" rule; its decision is count >= 1).
    """

    name: str
    y: FloatArray
    hit_today: BoolArray
    count_5d: FloatArray

    def take(self, rows: npt.ArrayLike) -> Truth:
        """The same truth on a subset of the rows (a boolean mask or indices)."""
        m = np.asarray(rows)
        return Truth(name=self.name, y=self.y[m], hit_today=self.hit_today[m], count_5d=self.count_5d[m])


def _truth_part(
    y: FloatArray, score: FloatArray, threshold: FloatArray, day: np.ndarray, truth: Truth, mask: BoolArray, k: int
) -> dict[str, Any]:
    hit, count = truth.hit_today[mask], truth.count_5d[mask]
    return {
        "model": classification_metrics(y[mask], score[mask], score[mask] >= threshold[mask], day=day[mask], k=k),
        "baselines": {
            "hit_today": classification_metrics(y[mask], hit.astype(np.float64), hit, day=day[mask], k=k),
            "count_5d": classification_metrics(y[mask], count, count >= 1, day=day[mask], k=k),
        },
    }


def truth_info_key(truth: str, part: str) -> str:
    """The row-info key of one truth's per-row array: ``part`` is y, hit_today or count_5d."""
    return f"truth:{truth}:{part}"


def truths_from_info(info: Mapping[str, Any]) -> list[Truth]:
    """The truths whose arrays a dataset's row info carries (``modelregistry.datasets`` puts them)."""
    return [
        Truth(
            name=name,
            y=np.asarray(info[truth_info_key(name, "y")], dtype=np.float64),
            hit_today=np.asarray(info[truth_info_key(name, "hit_today")], dtype=bool),
            count_5d=np.asarray(info[truth_info_key(name, "count_5d")], dtype=np.float64),
        )
        for name in TRUTH_NAMES
        if truth_info_key(name, "y") in info
    ]


def evaluate_truths(
    proba: npt.ArrayLike,
    threshold: float | npt.ArrayLike,
    *,
    day: npt.ArrayLike,
    truths: Sequence[Truth],
    k: int = DEFAULT_K,
    scores_by_truth: Mapping[str, npt.ArrayLike] | None = None,
    new_proba: npt.ArrayLike | None = None,
    new_threshold: float | npt.ArrayLike | None = None,
) -> dict[str, Any]:
    """For each truth: the model against "hit today" and "count over 5 days", on all rows and on new
    circuits only (rows not locked today under that truth), with precision@k per day over the
    whole universe of rows each day.

    ``scores_by_truth`` gives a truth the model's own score for that event (the strict truth: the
    strict-eligible probability, ``modelregistry.rankings``); other truths are scored with ``proba``.
    ``new_proba`` ``(R,)`` scores the new-circuit slice when the platform has a separate new-circuit
    ranking (and ``new_threshold`` its decision threshold); otherwise the truth's score does.
    A threshold is one number, or one per row ``(R,)`` (a walk-forward: each fold its own).
    """
    d = np.asarray(day)
    fresh = threshold if new_threshold is None else new_threshold
    rows = len(d)
    cut = np.broadcast_to(np.asarray(threshold, dtype=np.float64), (rows,))
    fresh_cut = np.broadcast_to(np.asarray(fresh, dtype=np.float64), (rows,))
    report: dict[str, Any] = {
        "k": k,
        "threshold": float(threshold) if np.ndim(threshold) == 0 else None,  # type: ignore[arg-type]
        "new_threshold": float(fresh) if np.ndim(fresh) == 0 else None,  # type: ignore[arg-type]
    }
    for truth in truths:
        p = np.asarray((scores_by_truth or {}).get(truth.name, proba), dtype=np.float64)
        fresh_p = p if new_proba is None else np.asarray(new_proba, dtype=np.float64)
        y = np.asarray(truth.y, dtype=np.float64)
        if not (len(y) == len(p) == len(d) == len(truth.hit_today) == len(truth.count_5d)):
            raise ValueError(f"truth {truth.name!r} does not have one value per row")
        if np.isnan(y).any():
            raise ValueError(f"truth {truth.name!r} has rows without a label: evaluate labelled rows only")
        everything = np.ones(len(y), dtype=bool)
        new = ~np.asarray(truth.hit_today, dtype=bool)
        report[truth.name] = {
            "all": _truth_part(y, p, cut, d, truth, everything, k),
            "new_circuits": _truth_part(y, fresh_p, fresh_cut, d, truth, new, k),
        }
    return report


def truths_table(report: dict[str, Any], *, k: int = DEFAULT_K) -> list[dict[str, Any]]:
    """``evaluate_truths`` flattened: one row per truth x slice x scorer, for tables and cards."""
    rows = []
    for name in TRUTH_NAMES:
        if name not in report:
            continue
        for part in ("all", "new_circuits"):
            section = report[name][part]
            scorers = {"model": section["model"], **section["baselines"]}
            for scorer, m in scorers.items():
                rows.append(
                    {
                        "truth": name,
                        "slice": part,
                        "scorer": scorer,
                        "pr_auc": m["pr_auc"],
                        "precision_at_k": m.get(f"precision_at_{k}"),
                        "f1": m["f1"],
                        "positives": m["positives"],
                        "rows": m["rows"],
                    }
                )
    return rows


TRUTH_TITLES = {
    "platform": "The platform's label (lock at the band in force)",
    "strict": "Strict (close = high, a round 2/5/10/20% move)",
    "lock": "Tick-aware lock (close = high = a band price)",
}
SLICE_TITLES = {"all": "all stock-days", "new_circuits": "new circuits"}
TRUTH_SCORERS = ("model", *NAIVE_RULES)


def _truth_metric(section: dict[str, Any], scorer: str, key: str) -> float | None:
    block = section.get("model") if scorer == "model" else (section.get("baselines") or {}).get(scorer)
    value = (block or {}).get(key)
    return float(value) if isinstance(value, int | float) else None


def truths_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per truth and slice of a report holding ``truths`` (``evaluate_truths``): the model
    against "hit today" and "count over 5 days", PR-AUC and precision@k per day, and whether it beats
    both rules on both. For tables (model card, backtest report) and the commands' text."""
    truths = report.get("truths") or {}
    k = int(truths.get("k", report.get("k", DEFAULT_K)))
    rows = []
    for truth, title in TRUTH_TITLES.items():
        for part, slice_title in SLICE_TITLES.items():
            section = (truths.get(truth) or {}).get(part)
            if not section:
                continue
            pr_auc = [_truth_metric(section, scorer, "pr_auc") for scorer in TRUTH_SCORERS]
            at_k = [_truth_metric(section, scorer, f"precision_at_{k}") for scorer in TRUTH_SCORERS]
            model = section.get("model") or {}
            rows.append(
                {
                    "truth": truth,
                    "slice": part,
                    "title": f"{title}, {slice_title}",
                    "rows": model.get("rows"),
                    "positives": model.get("positives"),
                    "k": k,
                    "pr_auc": pr_auc,
                    "precision_at_k": at_k,
                    "f1": _truth_metric(section, "model", "f1"),
                    "beats_both": all(
                        (values[0] or 0.0) > (other or 0.0) for values in (pr_auc, at_k) for other in values[1:]
                    ),
                }
            )
    return rows


def truths_lines(report: dict[str, Any], *, indent: str = "  ") -> list[str]:
    """``truths_rows`` as text: PR-AUC and precision@k of model | hit today | count over 5 days."""
    rows = truths_rows(report)
    if not rows:
        return []

    def trio(values: list[float | None]) -> str:
        return " | ".join("  -  " if v is None else f"{v:.3f}" for v in values)

    k = rows[0]["k"]
    out = [f"{indent}Three truths: model | hit today | count over 5 days (PR-AUC; precision@{k} per day)"]
    for row in rows:
        verdict = "beats both" if row["beats_both"] else "does NOT beat both"
        out.append(
            f"{indent}  {row['truth']:<8} {row['slice']:<12} {row['positives'] or 0:>7,} positives  "
            f"PR-AUC {trio(row['pr_auc'])}   P@{k} {trio(row['precision_at_k'])}   {verdict}"
        )
    return out
