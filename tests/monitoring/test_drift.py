from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from features.reference import reference_from_training
from monitoring.drift import (
    DriftResult,
    DriftStatus,
    drift_report,
    ks,
    psi,
    psi_status,
    psi_threshold_for_sample_size,
)


def training_values(rows: int = 20_000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    values = np.column_stack(
        [
            rng.normal(0.0, 1.0, rows),  # continuous
            rng.poisson(0.4, rows).astype(np.float64),  # discrete, mostly zeros
            rng.lognormal(3.0, 1.0, rows),  # skewed
        ]
    )
    values[rng.random(rows) < 0.05, 2] = np.nan
    return values


NAMES = ("ret_1d", "uc_count_20", "price")


def test_identical_distributions_have_zero_psi() -> None:
    values = training_values()
    reference = reference_from_training(values, NAMES)
    for j, base in enumerate(reference.features):
        assert psi(base.proportions, values[:, j], base.edges) == 0.0


def test_known_shift_gives_the_hand_computed_psi() -> None:
    # Two value bins split at 0.5, no missing values: reference 50/50, current 75/25.
    # PSI = (0.75 - 0.5) ln(0.75 / 0.5) + (0.25 - 0.5) ln(0.25 / 0.5) = 0.25 ln 1.5 + 0.25 ln 2 = 0.25 ln 3
    value = psi([0.5, 0.5, 0.0], [0.0, 0.0, 0.0, 1.0], [0.5])
    assert value == pytest.approx(0.25 * math.log(3.0), rel=1e-12)
    assert value == pytest.approx(0.274653, abs=1e-6)


def test_an_empty_bin_is_floored_at_epsilon() -> None:
    # Everything lands in the first bin: the second bin's 0 becomes eps = 1e-4.
    expected = (1.0 - 0.5) * math.log(1.0 / 0.5) + (1e-4 - 0.5) * math.log(1e-4 / 0.5)
    assert psi([0.5, 0.5, 0.0], [0.0, 0.2, 0.3], [0.5]) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(4.604319, abs=1e-6)
    # A larger eps gives a smaller, still finite, penalty.
    assert psi([0.5, 0.5, 0.0], [0.0, 0.2, 0.3], [0.5], eps=1e-2) < expected


def test_missing_values_are_their_own_bin() -> None:
    current = [0.0, 1.0, np.nan, np.nan]  # 25% / 25% / 50% missing
    expected = 2 * (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.5 - 1e-4) * math.log(0.5 / 1e-4)
    assert psi([0.5, 0.5, 0.0], current, [0.5]) == pytest.approx(expected, rel=1e-12)


def test_missing_values_are_excluded_when_the_reference_has_no_missing_bin() -> None:
    assert psi([0.5, 0.5], [0.0, 1.0, np.nan, np.inf], [0.5]) == 0.0


def test_psi_rejects_proportions_that_do_not_fit_the_edges() -> None:
    with pytest.raises(ValueError, match="do not fit"):
        psi([0.2, 0.3, 0.5, 0.0], [1.0], [0.5])


def test_ks_matches_scipy() -> None:
    rng = np.random.default_rng(1)
    reference, current = rng.normal(0, 1, 1000), rng.normal(0.2, 1, 500)
    expected = stats.ks_2samp(reference, current)
    assert ks(reference, current) == (pytest.approx(expected.statistic), pytest.approx(expected.pvalue))


def test_ks_ignores_missing_values_and_is_nan_for_an_empty_side() -> None:
    reference = np.arange(100.0)
    current = np.array([1.0, 5.0, np.nan, 50.0])
    expected = stats.ks_2samp(reference, current[np.isfinite(current)])
    assert ks(reference, current) == (pytest.approx(expected.statistic), pytest.approx(expected.pvalue))
    statistic, pvalue = ks(reference, [np.nan])
    assert math.isnan(statistic)
    assert math.isnan(pvalue)


def test_quantile_sample_gives_the_ks_statistic_of_the_full_reference() -> None:
    values = training_values(rows=200_000)
    reference = reference_from_training(values, NAMES)
    current = np.random.default_rng(2).normal(0.1, 1.1, 2_000)
    compact, _ = ks(reference.features[0].sample, current)
    full, _ = ks(values[:, 0], current)
    assert compact == pytest.approx(full, abs=0.001)


def test_sample_size_aware_threshold_shrinks_as_samples_grow() -> None:
    thresholds = [psi_threshold_for_sample_size(1_000_000, n, 10) for n in (20, 200, 2_000, 20_000)]
    assert thresholds == sorted(thresholds, reverse=True)
    assert psi_threshold_for_sample_size(500, 2_000, 10) > psi_threshold_for_sample_size(50_000, 2_000, 10)
    # chi2(9) 95% quantile is 16.919 (statistical tables), scaled by 1/n_ref + 1/n_cur.
    assert psi_threshold_for_sample_size(1_000, 1_000, 10) == pytest.approx(16.919 * (2 / 1_000), rel=1e-4)
    # Small samples: the noise threshold is above the fixed 0.25; a full day's universe: far below 0.1.
    assert psi_threshold_for_sample_size(2_750_000, 40, 11) > 0.25
    assert psi_threshold_for_sample_size(2_750_000, 2_000, 11) < 0.01
    assert psi_threshold_for_sample_size(100, 100, 1) == 0.0


def test_sample_size_aware_threshold_is_exceeded_at_about_alpha_under_no_drift() -> None:
    rng = np.random.default_rng(3)
    probs = np.array([0.3, 0.2, 0.15, 0.1, 0.1, 0.05, 0.05, 0.03, 0.01, 0.01])
    edges = np.arange(len(probs) - 1) + 0.5
    n_ref, n_cur, trials = 5_000, 1_000, 2_000
    threshold = psi_threshold_for_sample_size(n_ref, n_cur, len(probs))
    ref_props = rng.multinomial(n_ref, probs, size=trials) / n_ref
    exceed = 0
    for r in ref_props:
        current = rng.choice(len(probs), size=n_cur, p=probs).astype(np.float64)
        exceed += psi(r, current, edges) > threshold
    assert 0.03 < exceed / trials < 0.08


@pytest.mark.parametrize(
    ("value", "status"),
    [
        (0.0, DriftStatus.OK),
        (0.0999, DriftStatus.OK),
        (0.1, DriftStatus.WARN),
        (0.2499, DriftStatus.WARN),
        (0.25, DriftStatus.ALERT),
        (3.0, DriftStatus.ALERT),
    ],
)
def test_psi_status_boundaries_are_0_1_and_0_25(value: float, status: DriftStatus) -> None:
    assert psi_status(value) is status


def test_report_flags_the_shifted_feature_and_asks_for_a_retrain() -> None:
    values = training_values()
    reference = reference_from_training(values, NAMES)
    current = training_values(rows=2_000, seed=9)
    current[:, 0] += 1.0  # one standard deviation
    result = drift_report(reference, current)
    by_name = {f.name: f for f in result.features}
    assert by_name["ret_1d"].status is DriftStatus.ALERT
    assert by_name["ret_1d"].significant
    assert by_name["ret_1d"].ks_pvalue < 1e-6
    assert by_name["uc_count_20"].status is DriftStatus.OK
    assert by_name["price"].status is DriftStatus.OK
    assert result.status is DriftStatus.ALERT
    assert result.retrain_needed
    assert result.drifted_features == ("ret_1d",)
    assert by_name["ret_1d"].n_current == 2_000
    assert by_name["ret_1d"].n_reference == 20_000


def test_report_of_a_fresh_sample_from_the_same_distribution_is_ok() -> None:
    reference = reference_from_training(training_values(), NAMES)
    result = drift_report(reference, training_values(rows=2_000, seed=4))
    assert result.status is DriftStatus.OK
    assert not result.retrain_needed
    assert all(f.psi < 0.1 for f in result.features)


def test_small_samples_do_not_cry_wolf() -> None:
    reference = reference_from_training(training_values(), NAMES)
    small = training_values(rows=12, seed=5)
    # Twelve rows over ten bins always look "shifted" to the fixed reading...
    ungated = drift_report(reference, small, require_significance=False)
    assert any(f.status is not DriftStatus.OK for f in ungated.features)
    # ...so below min_rows no feature may leave OK.
    gated = drift_report(reference, small)
    assert gated.status is DriftStatus.OK
    assert not any(f.enough_data for f in gated.features)


def test_a_fixed_reading_within_sampling_noise_stays_ok() -> None:
    uniform = (np.arange(10_000) + 0.5) / 10_000
    reference = reference_from_training(uniform[:, None], ["u"])
    # 50 rows: 9 in the first decile, 1 in the second, 5 in each other one.
    # PSI = 0.08 ln 1.8 + 0.08 ln 5 = 0.176 (WARN on the fixed reading) but the noise threshold at
    # n = 50 is chi2_0.95(9) * (1/10000 + 1/50) = 0.34.
    counts = [9, 1, 5, 5, 5, 5, 5, 5, 5, 5]
    current = np.repeat((np.arange(10) + 0.5) / 10, counts)[:, None]
    gated = drift_report(reference, current, min_rows=1).features[0]
    ungated = drift_report(reference, current, min_rows=1, require_significance=False).features[0]
    assert gated.psi == pytest.approx(0.08 * math.log(1.8) + 0.08 * math.log(5.0), rel=1e-3)
    assert ungated.status is DriftStatus.WARN
    assert gated.psi_critical == pytest.approx(psi_threshold_for_sample_size(10_000, 50, 10))
    assert not gated.significant
    assert gated.status is DriftStatus.OK


def test_report_tests_each_feature_at_alpha_over_the_feature_count() -> None:
    reference = reference_from_training(training_values(), NAMES)
    result = drift_report(reference, training_values(rows=2_000, seed=8), alpha=0.06)
    first = result.features[0]
    assert first.psi_critical == pytest.approx(psi_threshold_for_sample_size(20_000, 2_000, 10, alpha=0.02))


def test_report_can_leave_missing_values_out() -> None:
    reference = reference_from_training(training_values(), NAMES)
    current = training_values(rows=2_000, seed=6)
    current[::2, 2] = np.nan  # missing share 5% -> ~52%, finite values unchanged in distribution
    with_missing = drift_report(reference, current)
    without = drift_report(reference, current, include_missing=False)
    assert with_missing.features[2].status is DriftStatus.ALERT
    assert without.features[2].status is DriftStatus.OK
    assert without.features[2].n_current == int(np.isfinite(current[:, 2]).sum())
    assert without.features[2].missing_share_current == pytest.approx(with_missing.features[2].missing_share_current)


def test_report_serialises_to_json_with_nan_ks_as_null() -> None:
    values = np.column_stack([np.arange(100.0), np.arange(100.0)])
    reference = reference_from_training(values, ["a", "b"])
    current = np.column_stack([np.arange(10.0), np.full(10, np.nan)])
    data = drift_report(reference, current, min_rows=10).to_dict()
    text = json.dumps(data, allow_nan=False)
    assert json.loads(text)["features"][1]["ks_statistic"] is None
    assert json.loads(text)["status"] == "alert"


def test_a_stored_report_reads_back_equal() -> None:
    reference = reference_from_training(training_values(), NAMES)
    current = training_values(rows=2_000, seed=7)
    current[:, 1] = np.nan  # KS of an all-missing column is NaN
    result = drift_report(reference, current)
    restored = DriftResult.from_dict(json.loads(json.dumps(result.to_dict(), allow_nan=False)))
    assert restored.status is result.status
    assert restored.features[0] == result.features[0]
    assert math.isnan(restored.features[1].ks_statistic)
    assert restored.features[1].psi == result.features[1].psi


def test_report_rejects_a_different_number_of_columns() -> None:
    reference = reference_from_training(training_values(rows=100), NAMES)
    with pytest.raises(ValueError, match="columns"):
        drift_report(reference, np.zeros((5, 2)))


def test_watched_features_set_the_overall_status_alone() -> None:
    reference = reference_from_training(training_values(), NAMES)
    current = training_values(rows=2_000, seed=8)
    current[:, 0] += 3.0  # ret_1d drifts badly
    everything = drift_report(reference, current)
    others = drift_report(reference, current, watched=["uc_count_20", "price"])
    assert everything.status is DriftStatus.ALERT
    assert others.status is DriftStatus.OK
    assert others.drifted_features == ("ret_1d",)  # still reported
    assert others.features == everything.features
    assert not others.retrain_needed
    assert DriftResult.from_dict(json.loads(json.dumps(others.to_dict()))) == others
    with pytest.raises(ValueError, match="not in the reference"):
        drift_report(reference, current, watched=["nope"])


def test_reports_stored_before_watched_existed_still_load() -> None:
    result = drift_report(
        reference_from_training(training_values(rows=2_000), NAMES), training_values(rows=500, seed=1)
    )
    stored = result.to_dict()
    del stored["watched"]
    assert DriftResult.from_dict(stored) == result


def test_drift_persistence_counts_the_same_feature_over_k_of_the_last_n_windows() -> None:
    from monitoring.drift import drift_persistence

    once = drift_persistence([[], ["a"], []], k=2, n=3)
    assert not once.retrain_needed
    assert "most: 1 of 3" in once.reason
    twice = drift_persistence([["a", "b"], [], ["a"]], k=2, n=3)
    assert twice.retrain_needed
    assert twice.persistent == ("a",)  # b was over the line once only
    assert "a (2/3)" in twice.reason
    # Windows older than the last n do not count.
    assert not drift_persistence([["a"], ["a"], [], [], []], k=2, n=3).retrain_needed
    with pytest.raises(ValueError, match="1 <= k <= n"):
        drift_persistence([], k=4, n=3)


def test_the_reference_records_its_population_and_filters_alike() -> None:
    from features.reference import FeatureReference, population_filter, population_mask, reference_from_training

    names = ["seasoned", "x"]
    values = np.array([[1.0, 0.5], [np.nan, 9.0], [2.0, 0.1]])
    reference = reference_from_training(values[[0, 2]], names, population=population_filter("seasoned"))
    again = FeatureReference.from_json(reference.to_json())
    assert again.population == "finite:seasoned"
    assert population_mask(values, names, again.population).tolist() == [True, False, True]
    assert population_mask(values, names, "").all()
    old = {k: v for k, v in reference.to_dict().items() if k != "population"}  # a reference frozen before
    assert FeatureReference.from_dict(old).population == ""
    with pytest.raises(ValueError, match="unknown population"):
        population_mask(values, names, "finite:nope")
