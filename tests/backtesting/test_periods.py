from __future__ import annotations

import numpy as np
import pytest

from backtesting.periods import ScoredRows, evaluate_rows, metrics_by_period, period_labels, prediction_metrics
from modelregistry.evaluation import evaluate


def rows(seed: int = 0, n_days: int = 400, per_day: int = 30) -> ScoredRows:
    rng = np.random.default_rng(seed)
    days = np.repeat(np.datetime64("2020-11-02") + np.arange(n_days), per_day)
    n = days.size
    hit = rng.random(n) < 0.03
    probability = np.clip(rng.random(n) * 0.3 + 0.5 * hit, 0, 1)
    y = (rng.random(n) < 0.05 + 0.5 * probability).astype(np.float64)
    return ScoredRows(
        y=y,
        probability=probability,
        decision=probability >= 0.3,
        dates=days,
        hit_today=hit,
        momentum=rng.normal(size=n),
        series=np.where(rng.random(n) < 0.6, "EQ", "BE").astype(object),
    )


def test_one_threshold_gives_exactly_what_evaluate_gives() -> None:
    r = rows()
    mine = evaluate_rows(r, k=20)
    reference = evaluate(
        r.y, r.probability, 0.3, day=r.dates, hit_today=r.hit_today, momentum=r.momentum, series=r.series, k=20
    )
    for part in ("all", "new_circuits", "series_eq", "series_other"):
        assert mine[part] == reference[part]


def test_decisions_are_taken_as_given_so_each_fold_can_keep_its_threshold() -> None:
    r = rows(1)
    per_row = np.where(r.dates < np.datetime64("2021-06-01"), 0.2, 0.6)
    mixed = ScoredRows(**{**r.__dict__, "decision": r.probability >= per_row})
    model = evaluate_rows(mixed)["all"]["model"]
    assert model["predicted_positive"] == int((r.probability >= per_row).sum())
    # Ranking metrics do not depend on the decisions.
    assert model["pr_auc"] == evaluate_rows(r)["all"]["model"]["pr_auc"]


def test_periods_are_calendar_years_and_quarters_in_order() -> None:
    r = rows(2)
    assert period_labels(
        np.array(["2020-12-31", "2021-01-01", "2021-07-15"], dtype="datetime64[D]"), freq="quarter"
    ).tolist() == [
        "2020Q4",
        "2021Q1",
        "2021Q3",
    ]
    years = metrics_by_period(r, freq="year")
    assert [p["period"] for p in years] == ["2020", "2021"]  # 400 days from 2 Nov 2020
    quarters = metrics_by_period(r, freq="quarter")
    assert [p["period"] for p in quarters][:3] == ["2020Q4", "2021Q1", "2021Q2"]
    assert sum(p["all"]["model"]["rows"] for p in quarters) == len(r)
    first = r.take(r.dates <= np.datetime64("2020-12-31"))
    assert years[0]["all"] == evaluate_rows(first)["all"]
    assert years[0]["last_date"] == "2020-12-31"


def test_prediction_metrics_hold_overall_yearly_and_quarterly_parts() -> None:
    out = prediction_metrics(rows(3))
    assert set(out) == {"overall", "year", "quarter"}
    assert out["overall"]["all"]["baselines"]["hit_today"]["pr_auc"] is not None
    with pytest.raises(ValueError, match="no scored rows"):
        prediction_metrics(rows(3).take(np.zeros(len(rows(3)), dtype=bool)))
    with pytest.raises(ValueError, match="rows"):
        ScoredRows(**{**rows(3).__dict__, "decision": np.zeros(3, dtype=bool)})
