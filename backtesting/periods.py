"""Prediction metrics per year and per quarter, the model next to the naive baselines on the same rows.

Pure (no Django). Inputs are per stock-day rows ``(R,)``: the label ``y`` (0/1), the calibrated
``probability``, the model's ``decision`` (probability >= the threshold in force for that row: one
threshold for a registered version, each fold's own in a walk-forward), the row's date, today's
upper-circuit flag (the "hit today" baseline and the new-circuit slice), the 20-day return (the
momentum baseline) and the series (EQ against the rest).

The output has the shape of ``modelregistry.evaluation.evaluate`` (parts ``all``, ``new_circuits``,
``series_eq``, ``series_other``, each ``{"model": {...}, "baselines": {"hit_today", "momentum_top_k"}}``)
built from the same ``classification_metrics`` and ``top_k_per_day``; only the decision is passed in
rather than derived from one threshold. Rows that carry the three truths (``truths`` and the per-row
``threshold``) add ``truths``: ``evaluation.evaluate_truths`` beside "hit today" and "count over 5
days", overall and in every year and quarter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from modelregistry.evaluation import DEFAULT_K, Truth, classification_metrics, evaluate_truths, top_k_per_day

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Frequency = Literal["year", "quarter"]


@dataclass(frozen=True)
class ScoredRows:
    """Out-of-sample rows, one per stock-day with a known label, all arrays ``(R,)``."""

    y: FloatArray
    probability: FloatArray
    decision: BoolArray
    dates: npt.NDArray[np.datetime64]
    hit_today: BoolArray
    momentum: FloatArray
    series: npt.NDArray[np.object_]
    truths: tuple[Truth, ...] = ()
    threshold: FloatArray | None = None  # (R,) the decision threshold in force for each row
    new_threshold: FloatArray | None = None  # (R,) the new-circuit ranking's threshold
    strict_eligible: BoolArray | None = None  # (R,) a lock tomorrow would be a round move (rankings)

    def __post_init__(self) -> None:
        n = len(self.y)
        for name in ("probability", "decision", "dates", "hit_today", "momentum", "series"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} has {len(getattr(self, name))} rows, y has {n}")
        for name in ("threshold", "new_threshold", "strict_eligible"):
            value = getattr(self, name)
            if value is not None and len(value) != n:
                raise ValueError(f"{name} has {len(value)} rows, y has {n}")

    def __len__(self) -> int:
        return len(self.y)

    def take(self, mask: npt.ArrayLike) -> ScoredRows:
        m = np.asarray(mask)
        return ScoredRows(
            y=self.y[m],
            probability=self.probability[m],
            decision=self.decision[m],
            dates=self.dates[m],
            hit_today=self.hit_today[m],
            momentum=self.momentum[m],
            series=self.series[m],
            truths=tuple(truth.take(m) for truth in self.truths),
            threshold=None if self.threshold is None else self.threshold[m],
            new_threshold=None if self.new_threshold is None else self.new_threshold[m],
            strict_eligible=None if self.strict_eligible is None else self.strict_eligible[m],
        )


def _part(rows: ScoredRows, k: int) -> dict[str, Any]:
    day = rows.dates
    return {
        "model": classification_metrics(rows.y, rows.probability, rows.decision, day=day, k=k),
        "baselines": {
            "hit_today": classification_metrics(
                rows.y, rows.hit_today.astype(np.float64), rows.hit_today, day=day, k=k
            ),
            "momentum_top_k": classification_metrics(
                rows.y, rows.momentum, top_k_per_day(rows.momentum, day, k=k), day=day, k=k
            ),
        },
    }


def evaluate_rows(rows: ScoredRows, *, k: int = DEFAULT_K) -> dict[str, Any]:
    """Model and baselines on all rows and on the slices new circuits, series EQ and the other series."""
    is_eq = rows.series.astype(str) == "EQ"
    report: dict[str, Any] = {"k": k, "all": _part(rows, k)}
    for name, mask in (("new_circuits", ~rows.hit_today), ("series_eq", is_eq), ("series_other", ~is_eq)):
        report[name] = _part(rows.take(mask), k)
    if rows.truths and rows.threshold is not None:
        eligible = rows.strict_eligible
        strict = rows.probability if eligible is None else np.where(eligible, rows.probability, 0.0)
        report["truths"] = evaluate_truths(
            rows.probability,
            rows.threshold,
            day=rows.dates,
            truths=rows.truths,
            k=k,
            scores_by_truth={"strict": strict},
            new_threshold=rows.new_threshold,
        )
    return report


def period_labels(dates: npt.ArrayLike, *, freq: Frequency) -> npt.NDArray[np.str_]:
    """``"2021"`` or ``"2021Q3"`` for each date."""
    index = pd.DatetimeIndex(np.asarray(dates, dtype="datetime64[D]"))
    if freq == "year":
        return index.year.astype(str).to_numpy()
    if freq == "quarter":
        return (index.year.astype(str) + "Q" + index.quarter.astype(str)).to_numpy()
    raise ValueError(f"freq must be 'year' or 'quarter', got {freq!r}")


def metrics_by_period(rows: ScoredRows, *, freq: Frequency, k: int = DEFAULT_K) -> list[dict[str, Any]]:
    """One ``{"period", "first_date", "last_date", **evaluate_rows}`` per year or quarter, in order.

    A period without a positive label is still listed (its PR-AUC is None).
    """
    labels = period_labels(rows.dates, freq=freq)
    out = []
    for period in sorted(set(labels.tolist())):
        part = rows.take(labels == period)
        out.append(
            {
                "period": period,
                "first_date": str(part.dates.min()),
                "last_date": str(part.dates.max()),
                **evaluate_rows(part, k=k),
            }
        )
    return out


def prediction_metrics(rows: ScoredRows, *, k: int = DEFAULT_K) -> dict[str, Any]:
    """Everything a run stores about its predictions: overall, per year and per quarter."""
    if len(rows) == 0:
        raise ValueError("no scored rows: the period holds no stock-day with a known label")
    return {
        "overall": evaluate_rows(rows, k=k),
        "year": metrics_by_period(rows, freq="year", k=k),
        "quarter": metrics_by_period(rows, freq="quarter", k=k),
    }
