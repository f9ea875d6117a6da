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
from modelregistry.evaluation import truth_info_key
from modelregistry.training import INFO_HIT_TODAY, INFO_RETURN_20D, INFO_SERIES, Dataset, build_dataset

INFO_NEW_CIRCUIT = "new_circuit_candidate"


@dataclass(frozen=True)
class PanelDataset:
    """Everything derived from one panel. ``upper_circuit`` and ``labels`` are (T, N)."""

    panel: Panel
    cube: FeatureCube
    upper_circuit: npt.NDArray[np.bool_]  # (T, N) the label truth's flag on each day
    labels: npt.NDArray[np.float64]  # (T, N) the label truth's next-day label
    flags: dict[str, npt.NDArray[np.bool_]]  # (T, N) every truth's flag, keyed by circuits.TRUTHS
    label_truth: str
    dataset: Dataset
    horizon: int
    seconds: dict[str, float]


def panel_dataset(panel: Panel, *, horizon: int = 1, label_truth: str = "platform") -> PanelDataset:
    """Compute the 25 features over the whole panel, the three truths' flags and labels.

    ``label_truth`` (one of ``circuits.TRUTHS``) is the label ``y`` the rows carry. Rows are the
    stock-days with a bar and a known label. Per-row info carries the series of the day, the label
    truth's flag today (the "hit today" rule and the new-circuit slice), the 20-day return, and for
    every truth its label, today's flag and its lock count over the last 5 dates.
    """
    if label_truth not in circuits.TRUTHS:
        raise ValueError(f"label_truth must be one of {circuits.TRUTHS}, not {label_truth!r}")
    started = time.perf_counter()
    cube = compute_features(panel)
    features_seconds = time.perf_counter() - started
    started = time.perf_counter()
    flags = circuits.truth_flags(panel.open, panel.high, panel.low, panel.close, panel.prev_close)
    labels_of = {name: circuits.next_day_label(flag, panel.has_bar, horizon=horizon) for name, flag in flags.items()}
    upper, labels = flags[label_truth], labels_of[label_truth]
    row_info: dict[str, npt.NDArray[np.generic]] = {
        INFO_SERIES: panel.day_series(),  # the series of each row's day: it changes, and later is the future
        INFO_HIT_TODAY: upper,
        INFO_RETURN_20D: cube.feature("return_20d"),
    }
    for name, flag in flags.items():
        row_info[truth_info_key(name, "y")] = labels_of[name]
        row_info[truth_info_key(name, "hit_today")] = flag
        row_info[truth_info_key(name, "count_5d")] = circuits.rolling_count(flag, 5)
    dataset = build_dataset(
        cube.values, labels, panel.dates, feature_names=spec.FEATURE_NAMES, has_bar=panel.has_bar, row_info=row_info
    )
    return PanelDataset(
        panel=panel,
        cube=cube,
        upper_circuit=upper,
        labels=labels,
        flags=flags,
        label_truth=label_truth,
        dataset=dataset,
        horizon=horizon,
        seconds={"features": features_seconds, "labels_and_rows": time.perf_counter() - started},
    )
