"""The frozen training reference: bins at deciles, one bin per value of a discrete feature, JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest

from features.reference import FeatureReference, bin_proportions, reference_from_training
from tests.monitoring.test_drift import NAMES, training_values


def test_continuous_feature_gets_ten_near_equal_bins() -> None:
    base = reference_from_training(training_values(), NAMES).features[0]
    assert len(base.edges) == 9
    assert np.all(np.diff(base.edges) > 0)
    assert np.allclose(base.proportions[:-1], 0.1, atol=1e-3)
    assert base.missing_share == 0.0


def test_discrete_feature_edges_are_deduplicated_to_one_bin_per_value() -> None:
    values = training_values()
    base = reference_from_training(values, NAMES).features[1]
    # Poisson(0.4): 0 covers ~67% of rows, so deciles 1-6 all equal 0 and collapse into one edge.
    assert len(base.edges) == len(set(base.edges)) < 9
    assert base.edges[0] == 0.0
    zeros_share = float(np.mean(values[:, 1] == 0))
    assert base.proportions[0] == pytest.approx(zeros_share)
    assert sum(base.proportions) == pytest.approx(1.0)


def test_values_beyond_the_training_range_land_in_the_outer_bins() -> None:
    proportions = bin_proportions([-1e12, 1e12, np.nan, 0.0], [-1.0, 1.0])
    assert proportions.tolist() == [0.25, 0.25, 0.25, 0.25]


def test_reference_counts_rows_and_missing_share() -> None:
    values = training_values()
    base = reference_from_training(values, NAMES).features[2]
    assert base.rows == len(values)
    assert base.count == int(np.isfinite(values[:, 2]).sum())
    assert base.missing_share == pytest.approx(1 - base.count / base.rows)
    assert len(base.sample) == 1000


def test_reference_json_round_trip_is_exact() -> None:
    values = training_values(rows=3_000)
    values = np.column_stack([values, np.full(len(values), 7.0), np.full(len(values), np.nan)])
    reference = reference_from_training(values, [*NAMES, "constant", "all_missing"])
    text = reference.to_json()
    json.loads(text)  # plain JSON: no NaN or Infinity tokens
    assert FeatureReference.from_json(text) == reference
    assert reference.features[3].edges == (7.0,)
    assert reference.features[4].edges == ()
    assert reference.features[4].proportions == (0.0, 1.0)


def test_reference_json_refuses_an_unknown_format() -> None:
    data = reference_from_training(training_values(rows=100), NAMES).to_dict()
    data["format"] = 99
    with pytest.raises(ValueError, match="format"):
        FeatureReference.from_dict(data)
