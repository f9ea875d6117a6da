from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from backtesting import feature_cache
from marketdata.panel import PANEL_FIELDS
from modelregistry.datasets import PanelDataset
from modelregistry.training import INFO_HIT_TODAY, INFO_RETURN_20D, INFO_SERIES


def test_cached_rows_and_panel_equal_the_computed_ones(synthetic_data: PanelDataset, tmp_path: Path) -> None:
    key = feature_cache.store(tmp_path, synthetic_data)
    cached = feature_cache.load(tmp_path, key)
    ds = synthetic_data.dataset
    again = cached.all_rows()
    for name in ("X", "y", "date_idx", "stock_idx"):
        np.testing.assert_array_equal(getattr(again, name), getattr(ds, name))
    for name in (INFO_SERIES, INFO_HIT_TODAY, INFO_RETURN_20D):
        np.testing.assert_array_equal(again.info[name], ds.info[name])
    for name in PANEL_FIELDS:
        np.testing.assert_array_equal(getattr(cached.panel, name), getattr(synthetic_data.panel, name))
    assert list(cached.panel.symbols) == list(synthetic_data.panel.symbols)
    assert cached.feature_names == ds.feature_names
    assert isinstance(cached.arrays["X"], np.memmap)


def test_rows_between_returns_exactly_the_rows_of_those_dates(synthetic_data: PanelDataset, tmp_path: Path) -> None:
    cached = feature_cache.load(tmp_path, feature_cache.store(tmp_path, synthetic_data))
    part = cached.rows_between(100, 140)
    ds = synthetic_data.dataset
    mask = (ds.date_idx >= 100) & (ds.date_idx <= 140)
    assert len(part) == int(mask.sum()) > 0
    np.testing.assert_array_equal(part.X, ds.X[mask])
    np.testing.assert_array_equal(part.stock_idx, ds.stock_idx[mask])


def test_the_key_follows_the_data_and_an_entry_is_written_once(synthetic_data: PanelDataset, tmp_path: Path) -> None:
    panel = synthetic_data.panel
    key = feature_cache.panel_key(panel, horizon=1)
    assert feature_cache.panel_key(panel, horizon=1) == key
    assert feature_cache.panel_key(panel, horizon=2) != key
    close = panel.close.copy()
    close[5, 3] += 0.05
    assert feature_cache.panel_key(replace(panel, close=close), horizon=1) != key
    assert feature_cache.store(tmp_path, synthetic_data, key=key) == key
    written = (tmp_path / key / "X.npy").stat().st_mtime_ns
    assert feature_cache.store(tmp_path, synthetic_data, key=key) == key
    assert (tmp_path / key / "X.npy").stat().st_mtime_ns == written
    assert [p.name for p in tmp_path.iterdir()] == [key]  # no staging directory left behind


def test_a_missing_or_incomplete_entry_is_not_loaded(synthetic_data: PanelDataset, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        feature_cache.load(tmp_path, "0" * 64)
    key = feature_cache.store(tmp_path, synthetic_data)
    (tmp_path / key / "meta.json").unlink()  # as if a writer had died before the rename
    assert not feature_cache.exists(tmp_path, key)
    with pytest.raises(FileNotFoundError):
        feature_cache.load(tmp_path, key)
    assert feature_cache.store(tmp_path, synthetic_data) == key  # the damaged entry is rewritten
    assert len(feature_cache.load(tmp_path, key).all_rows()) == len(synthetic_data.dataset)
