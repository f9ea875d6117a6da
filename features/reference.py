"""The frozen training distribution of each feature: what drift checks compare a day's features with.

Pure numpy, no Django. Built once when a model version is trained (``modelregistry.training_run``)
and stored as JSON on the version; ``monitoring.drift`` reads it.

Per feature: ``edges``, the interior cut points at the 10%, 20%, ..., 90% quantiles of the
training values (``method="inverted_cdf"``, so every edge is an observed value), deduplicated, so a
discrete feature such as a circuit count gets one bin per distinct value instead of empty slivers.
Bins are right-closed and open at both ends: ``(-inf, e0], (e0, e1], ..., (e_k, +inf)``, so a value
outside the training range still lands in an outer bin. ``proportions`` has one entry per value bin
plus a final *missing* bin (non-finite values), and sums to 1 over all rows. ``sample`` holds 1,000
evenly spaced quantiles for the KS test (deterministic, within 1/2000 of the full training CDF).

``population`` records which stock-days the reference was frozen on, so a drift check can filter a
day's rows the same way (``population_mask``): ``""`` means every row, ``"finite:<feature>"`` only
rows where that feature is defined (training keeps stocks with a full year of history).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

DEFAULT_BINS = 10
DEFAULT_SAMPLE_SIZE = 1000
REFERENCE_FORMAT = 1


@dataclass(frozen=True)
class FeatureBaseline:
    """One feature's frozen training distribution."""

    name: str
    edges: tuple[float, ...]  # (k,) interior cut points, strictly ascending
    proportions: tuple[float, ...]  # (k + 2,) k + 1 value bins, then the missing bin; sums to 1
    rows: int  # training rows, missing included
    count: int  # finite training values
    sample: tuple[float, ...]  # (<= sample_size,) evenly spaced quantiles of the finite values, for KS

    @property
    def missing_share(self) -> float:
        return self.proportions[-1]

    def value_proportions(self) -> tuple[float, ...]:
        """(k + 1,) shares of the value bins among finite values only (all zeros when none)."""
        finite_share = 1.0 - self.missing_share
        if finite_share <= 0.0:
            return tuple(0.0 for _ in self.proportions[:-1])
        return tuple(p / finite_share for p in self.proportions[:-1])


@dataclass(frozen=True)
class FeatureReference:
    """The training-time baseline of every feature, in the model's column order."""

    features: tuple[FeatureBaseline, ...]
    bins: int = DEFAULT_BINS
    sample_size: int = DEFAULT_SAMPLE_SIZE
    population: str = ""  # "" (every row) or "finite:<feature>": the filter the rows passed

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    @property
    def rows(self) -> int:
        return self.features[0].rows if self.features else 0

    def to_dict(self) -> dict[str, Any]:
        return {"format": REFERENCE_FORMAT, **asdict(self)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureReference:
        if data.get("format") != REFERENCE_FORMAT:
            raise ValueError(f"unknown feature reference format {data.get('format')!r}, expected {REFERENCE_FORMAT}")
        features = tuple(
            FeatureBaseline(
                name=str(f["name"]),
                edges=tuple(float(x) for x in f["edges"]),
                proportions=tuple(float(x) for x in f["proportions"]),
                rows=int(f["rows"]),
                count=int(f["count"]),
                sample=tuple(float(x) for x in f["sample"]),
            )
            for f in data["features"]
        )
        return cls(
            features=features,
            bins=int(data["bins"]),
            sample_size=int(data["sample_size"]),
            population=str(data.get("population", "")),
        )

    @classmethod
    def from_json(cls, text: str) -> FeatureReference:
        return cls.from_dict(json.loads(text))


def as_columns(values: npt.ArrayLike) -> FloatArray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"expected a (rows, features) array, got shape {arr.shape}")
    return arr


def population_filter(feature: str | None) -> str:
    """The ``population`` text of a reference kept to rows where ``feature`` is finite (None: all rows)."""
    return f"finite:{feature}" if feature else ""


def population_mask(values: npt.ArrayLike, names: Sequence[str], population: str) -> npt.NDArray[np.bool_]:
    """(rows,) True for the rows of ``values`` (rows, F; columns named ``names``) inside ``population``.

    A day's snapshots hold recent listings that the reference left out; comparing them would read
    their missing long-window features as drift (issue 11: +0.42 PSI on one feature)."""
    arr = as_columns(values)
    if not population:
        return np.ones(arr.shape[0], dtype=bool)
    kind, _, feature = population.partition(":")
    if kind != "finite" or feature not in names:
        raise ValueError(f"unknown population {population!r} for features {list(names)[:3]}...")
    return np.isfinite(arr[:, list(names).index(feature)])


def bin_proportions(values: npt.ArrayLike, edges: npt.ArrayLike, *, include_missing: bool = True) -> FloatArray:
    """Share of ``values`` (1-D) in each right-closed bin of ``edges`` (k,): shape (k + 2,), the last
    entry the missing share; or (k + 1,) over finite values only when ``include_missing`` is False.
    An empty input gives all zeros."""
    x = np.asarray(values, dtype=np.float64).ravel()
    cuts = np.asarray(edges, dtype=np.float64)
    finite = x[np.isfinite(x)]
    counts = np.bincount(np.searchsorted(cuts, finite, side="left"), minlength=len(cuts) + 1).astype(np.float64)
    if include_missing:
        counts = np.append(counts, float(len(x) - len(finite)))
    total = counts.sum()
    return counts / total if total > 0 else counts


def _baseline(name: str, column: FloatArray, *, bins: int, sample_size: int) -> FeatureBaseline:
    finite = column[np.isfinite(column)]
    if len(finite):
        cut_probs = np.arange(1, bins) / bins
        sample_probs = (np.arange(sample_size) + 0.5) / sample_size
        quantiles = np.quantile(finite, np.concatenate([cut_probs, sample_probs]), method="inverted_cdf")
        edges = np.unique(quantiles[: bins - 1])
        sample = quantiles[bins - 1 :]
    else:
        edges = np.empty(0)
        sample = np.empty(0)
    return FeatureBaseline(
        name=name,
        edges=tuple(edges.tolist()),
        proportions=tuple(bin_proportions(column, edges).tolist()),
        rows=len(column),
        count=len(finite),
        sample=tuple(sample.tolist()),
    )


def reference_from_training(
    values: npt.ArrayLike,
    names: Sequence[str],
    *,
    bins: int = DEFAULT_BINS,
    sample_size: int = DEFAULT_SAMPLE_SIZE,
    population: str = "",
) -> FeatureReference:
    """Freeze the training distribution of each column of ``values`` (rows, F) named by ``names`` (F,);
    ``population`` records the row filter ``values`` already passed (``population_filter``)."""
    arr = as_columns(values)
    if arr.shape[1] != len(names):
        raise ValueError(f"{arr.shape[1]} columns but {len(names)} names")
    if len(set(names)) != len(names):
        raise ValueError("feature names must be unique")
    if arr.shape[0] == 0:
        raise ValueError("cannot build a reference from zero rows")
    if bins < 2 or sample_size < 1:
        raise ValueError("bins must be >= 2 and sample_size >= 1")
    features = tuple(
        _baseline(str(name), arr[:, j], bins=bins, sample_size=sample_size) for j, name in enumerate(names)
    )
    return FeatureReference(features=features, bins=bins, sample_size=sample_size, population=population)
