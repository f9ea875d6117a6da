"""From a panel to a labelled training set: features, circuit flags, labels and baseline inputs.

Pure module (no Django). The one place that ties ``features`` to ``marketdata.circuits`` and
``training.build_dataset``, so training, walk-forward, backtests and model comparison all see the
very same rows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from features import spec
from features.vcp import FeatureCube, compute_features
from marketdata import circuits
from marketdata.panel import Panel
from modelregistry.training import INFO_HIT_TODAY, INFO_RETURN_20D, INFO_SERIES, Dataset, build_dataset

INFO_NEW_CIRCUIT = "new_circuit_candidate"


@dataclass(frozen=True)
class PanelDataset:
    """Everything derived from one panel. ``upper_circuit`` and ``labels`` are (T, N)."""

    panel: Panel
    cube: FeatureCube
    upper_circuit: npt.NDArray[np.bool_]
    labels: npt.NDArray[np.float64]
    dataset: Dataset
    horizon: int
    seconds: dict[str, float]


def panel_dataset(panel: Panel, *, horizon: int = 1) -> PanelDataset:
    """Compute the 25 features over the whole panel, the upper-circuit flags and the label.

    Rows of the dataset are the stock-days with a bar and a known label. Per-row info carries the
    series (EQ vs the rest), today's circuit flag (the "hit today" baseline and the new-circuit slice)
    and the 20-day return (the momentum baseline).
    """
    started = time.perf_counter()
    cube = compute_features(panel)
    features_seconds = time.perf_counter() - started
    started = time.perf_counter()
    upper = circuits.upper_circuit_panel(panel.close, panel.high, panel.prev_close, band=panel.band)
    labels = circuits.next_day_label(upper, panel.has_bar, horizon=horizon)
    row_info = {
        INFO_SERIES: panel.day_series(),  # the series of each row's day: it changes, and later is the future
        INFO_HIT_TODAY: upper,
        INFO_RETURN_20D: cube.feature("return_20d"),
    }
    dataset = build_dataset(
        cube.values, labels, panel.dates, feature_names=spec.FEATURE_NAMES, has_bar=panel.has_bar, row_info=row_info
    )
    return PanelDataset(
        panel=panel,
        cube=cube,
        upper_circuit=upper,
        labels=labels,
        dataset=dataset,
        horizon=horizon,
        seconds={"features": features_seconds, "labels_and_rows": time.perf_counter() - started},
    )
