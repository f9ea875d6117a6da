from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from modelregistry.training_run import Windows, default_windows, watched_features


def test_watched_features_cover_the_gain_share_with_the_fewest_features() -> None:
    importance = {"a": 0.55, "b": 0.25, "c": 0.12, "d": 0.05, "e": 0.03, "unused": 0.0}
    assert watched_features(importance, share=0.9) == ["a", "b", "c"]
    assert watched_features(importance, share=0.5) == ["a"]
    assert watched_features({"x": 0.0}) == []


def test_default_windows_put_the_test_period_last() -> None:
    dates = np.arange(np.datetime64("2024-01-01"), np.datetime64("2024-05-10"))
    windows = default_windows(dates)
    assert windows.train_start == dt.date(2024, 1, 1)
    assert windows.test_end == dt.date(2024, 5, 9)
    assert windows.train_end < windows.valid_end < windows.test_end
    with pytest.raises(ValueError, match="at least 30"):
        default_windows(dates[:10])


def test_windows_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="train_start < train_end"):
        Windows(
            train_start=dt.date(2024, 2, 1),
            train_end=dt.date(2024, 1, 1),
            valid_end=dt.date(2024, 3, 1),
            test_end=dt.date(2024, 4, 1),
        )
