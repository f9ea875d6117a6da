from __future__ import annotations

import numpy as np
import pytest

from backtesting.feature_sets import FEATURE_SETS, feature_set_names, select_features
from features import spec
from modelregistry.datasets import PanelDataset


def test_variants_keep_the_spec_order_and_drop_what_they_say() -> None:
    assert FEATURE_SETS["all"] == spec.FEATURE_NAMES
    for names in FEATURE_SETS.values():
        assert list(names) == [n for n in spec.FEATURE_NAMES if n in names]
    history = {
        "lock_count20",
        "lock_count60",
        "days_since_lock",
        "strict_count5",
        "strict_count20",
        "days_since_strict",
    }
    assert not history & set(FEATURE_SETS["no_circuit_history"])
    assert len(FEATURE_SETS["no_circuit_history"]) == 19
    vcp_families = {f.family for f in spec.FEATURES if f.name in FEATURE_SETS["vcp_only"]}
    assert vcp_families == {"trend", "contraction", "volume"}


def test_unknown_feature_set_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="vcp_only"):
        feature_set_names("everything")


def test_selecting_features_takes_their_columns(synthetic_data: PanelDataset) -> None:
    ds = synthetic_data.dataset
    names = FEATURE_SETS["vcp_only"]
    subset = select_features(ds, names)
    assert subset.feature_names == names
    column = spec.FEATURE_NAMES.index("volume_surge_50")
    np.testing.assert_array_equal(subset.X[:, names.index("volume_surge_50")], ds.X[:, column])
    assert select_features(ds, spec.FEATURE_NAMES) is ds
    with pytest.raises(ValueError, match="no features"):
        select_features(subset, ("uc_count20",))
