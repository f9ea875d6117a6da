"""Named subsets of the 25 features, for comparing a model against a feature-set variant.

Pure (no Django). A variant keeps the columns of ``features.spec.FEATURE_NAMES`` it names, in that
order, so a model trained on it scores rows built the same way.

- ``all``: the 25 features.
- ``no_circuit_history``: without the lock and strict-lock history (``lock_count20``,
  ``lock_count60``, ``days_since_lock``, ``strict_count5``, ``strict_count20``,
  ``days_since_strict``). Circuits come in streaks, so these carry most of the "hit today" signal; the
  variant asks how much the rest (the VCP pattern, momentum, the band) adds on its own.
- ``vcp_only``: the Volatility Contraction Pattern itself: the trend-template, contraction and volume
  families, no circuit, momentum or liquidity features.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from features import spec
from modelregistry.training import Dataset

_VCP_FAMILIES = ("trend", "contraction", "volume")

FEATURE_SETS: dict[str, tuple[str, ...]] = {
    "all": spec.FEATURE_NAMES,
    "no_circuit_history": tuple(n for n in spec.FEATURE_NAMES if n not in spec.CIRCUIT_HISTORY),
    "vcp_only": tuple(f.name for f in spec.FEATURES if f.family in _VCP_FAMILIES),
}
DEFAULT_FEATURE_SET = "all"


def feature_set_names(name: str) -> tuple[str, ...]:
    """The feature names of variant ``name``; ValueError naming the known variants otherwise."""
    try:
        return FEATURE_SETS[name]
    except KeyError:
        raise ValueError(f"unknown feature set {name!r}; known: {', '.join(FEATURE_SETS)}") from None


def select_features(dataset: Dataset, names: tuple[str, ...]) -> Dataset:
    """The dataset with only the columns ``names`` (each must be one of the dataset's features)."""
    if tuple(names) == dataset.feature_names:
        return dataset
    index = {n: i for i, n in enumerate(dataset.feature_names)}
    missing = [n for n in names if n not in index]
    if missing:
        raise ValueError(f"the dataset has no features {missing}")
    columns = np.array([index[n] for n in names], dtype=np.intp)
    return replace(dataset, X=np.ascontiguousarray(dataset.X[:, columns]), feature_names=tuple(names))
