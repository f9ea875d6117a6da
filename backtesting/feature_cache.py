"""A disk cache of one panel with its features and labelled rows, computed once and read by every fold.

Pure (no Django): the Django side passes ``settings.VCP_DATA_DIR / "backtesting" / "features"`` as
``root``. Each entry is ``<root>/<key>/``, one ``.npy`` per array plus ``meta.json``:

- the panel: ``dates`` (T,), ``symbols``/``series``/``instrument_ids`` (N,), and the
  ``(T, N)`` float64 fields of ``marketdata.panel.GRID_FIELDS`` (bars and bands);
- the rows of ``modelregistry.datasets.panel_dataset``: ``X`` (R, F) float32, ``y`` (R,) 0/1,
  ``date_idx``/``stock_idx`` (R,) int64, ``hit_today`` (R,) bool and ``return_20d`` (R,) float32
  (the baselines' inputs), and per truth (``circuits.TRUTHS``) its label, today's flag and 5-date
  count (``truth_<name>_<part>``), so every fold is scored on the three truths. Rows are ordered by
  date, then stock.

``key`` is a sha256 over the feature-set hash, the label horizon and every panel array, so equal
keys mean equal rows. An entry is written into a hidden directory and renamed into place: a reader
never sees half of one. Readers memory-map the arrays, so a fold reads only the pages of its rows.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from features import spec
from marketdata.panel import GRID_FIELDS, Panel
from modelregistry.datasets import PanelDataset
from modelregistry.evaluation import TRUTH_NAMES, truth_info_key
from modelregistry.training import INFO_HIT_TODAY, INFO_RETURN_20D, INFO_SERIES, Dataset

_META = "meta.json"
_FORMAT = 4  # 4: the three truths per row; 3: the band and the series are (T, N) histories
_TRUTH_PARTS = ("y", "hit_today", "count_5d")
_TRUTH_ARRAYS = {f"truth_{name}_{part}": truth_info_key(name, part) for name in TRUTH_NAMES for part in _TRUTH_PARTS}
_ROW_ARRAYS = ("X", "y", "date_idx", "stock_idx", "hit_today", "return_20d", *_TRUTH_ARRAYS)
_STOCK_ARRAYS = ("symbols", "series", "instrument_ids", "series_names")


def panel_key(panel: Panel, *, horizon: int) -> str:
    """sha256 of what the cached rows are computed from: feature set, horizon and the panel's arrays."""
    h = hashlib.sha256()
    h.update(f"{_FORMAT}\x1f{spec.FEATURE_SET_HASH}\x1f{horizon}\x1f{panel.shape}".encode())
    h.update(np.ascontiguousarray(panel.dates.astype("datetime64[D]").astype(np.int64)).tobytes())
    h.update("\x1f".join(map(str, panel.symbols)).encode())
    h.update("\x1f".join(map(str, panel.series)).encode())
    h.update("\x1f".join(map(str, panel.series_names)).encode())
    h.update(np.ascontiguousarray(panel.instrument_ids, dtype=np.int64).tobytes())
    for name in GRID_FIELDS:
        h.update(np.ascontiguousarray(getattr(panel, name), dtype=np.float64).tobytes())
    return h.hexdigest()


@dataclass(frozen=True)
class CachedFeatures:
    """One cache entry, memory-mapped. ``rows_between`` builds a ``Dataset`` for a span of dates."""

    key: str
    directory: Path
    panel: Panel
    feature_names: tuple[str, ...]
    horizon: int
    arrays: dict[str, np.ndarray]

    @property
    def n_rows(self) -> int:
        return int(self.arrays["y"].shape[0])

    def rows_between(self, first: int, last: int) -> Dataset:
        """Rows whose date index is in ``[first, last]`` (indices into ``panel.dates``), as a Dataset."""
        date_idx = self.arrays["date_idx"]
        lo = int(np.searchsorted(date_idx, first, side="left"))
        hi = int(np.searchsorted(date_idx, last, side="right"))
        return self._dataset(slice(lo, hi))

    def all_rows(self) -> Dataset:
        return self._dataset(slice(0, self.n_rows))

    def row_positions(self, date_idx: npt.ArrayLike, stock_idx: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Positions of the rows ``(date_idx, stock_idx)`` in the entry; KeyError for a row it lacks."""
        n = self.panel.shape[1]
        keys = np.asarray(self.arrays["date_idx"], dtype=np.int64) * n + np.asarray(self.arrays["stock_idx"])
        wanted = np.asarray(date_idx, dtype=np.int64) * n + np.asarray(stock_idx, dtype=np.int64)
        pos = np.searchsorted(keys, wanted)  # rows are ordered by date, then stock
        if len(wanted) and (pos.max() >= len(keys) or not np.array_equal(keys[pos], wanted)):
            raise KeyError("some rows are not in the cached features")
        return pos.astype(np.int64)

    def rows_at(self, positions: npt.ArrayLike) -> Dataset:
        """The rows at ``positions`` (from ``row_positions``), as a Dataset."""
        return self._dataset(np.asarray(positions, dtype=np.int64))

    def _dataset(self, rows: slice | npt.NDArray[np.int64]) -> Dataset:
        a = self.arrays
        date_idx, stock_idx = np.asarray(a["date_idx"][rows]), np.asarray(a["stock_idx"][rows])
        return Dataset(
            X=np.asarray(a["X"][rows]),
            y=np.asarray(a["y"][rows]),
            date_idx=date_idx,
            stock_idx=stock_idx,
            dates=self.panel.dates,
            feature_names=self.feature_names,
            info={
                INFO_SERIES: self.panel.series_at(date_idx, stock_idx),
                INFO_HIT_TODAY: np.asarray(a["hit_today"][rows]),
                INFO_RETURN_20D: np.asarray(a["return_20d"][rows]),
                **{info_key: np.asarray(a[name][rows]) for name, info_key in _TRUTH_ARRAYS.items()},
            },
        )


def _arrays_of(data: PanelDataset) -> dict[str, npt.NDArray[Any]]:
    panel, ds = data.panel, data.dataset
    out: dict[str, npt.NDArray[Any]] = {
        "dates": panel.dates.astype("datetime64[D]"),
        "symbols": panel.symbols.astype(str),
        "series": panel.series.astype(str),
        "instrument_ids": panel.instrument_ids.astype(np.int64),
        "series_names": panel.series_names.astype(str),
        "X": ds.X,
        "y": ds.y,
        "date_idx": ds.date_idx,
        "stock_idx": ds.stock_idx,
        "hit_today": np.asarray(ds.info[INFO_HIT_TODAY], dtype=bool),
        "return_20d": np.asarray(ds.info[INFO_RETURN_20D], dtype=np.float32),
    }
    for name, info_key in _TRUTH_ARRAYS.items():
        out[name] = np.asarray(ds.info[info_key], dtype=np.float32 if not name.endswith("hit_today") else bool)
    for name in GRID_FIELDS:
        out[name] = getattr(panel, name)
    return out


def store(root: Path | str, data: PanelDataset, *, key: str | None = None) -> str:
    """Write ``data`` under its key (computed when not given) unless that entry exists; returns the key."""
    key = key or panel_key(data.panel, horizon=data.horizon)
    final = Path(root) / key
    if (final / _META).is_file():
        return key
    if final.exists():
        # Entries appear complete by rename, so one without its meta.json was damaged afterwards.
        shutil.rmtree(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = final.parent / f".tmp-{key[:16]}-{uuid.uuid4().hex}"
    staging.mkdir()
    try:
        for name, array in _arrays_of(data).items():
            np.save(staging / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)
        meta = {
            "format": _FORMAT,
            "key": key,
            "feature_names": list(data.dataset.feature_names),
            "feature_set_hash": spec.FEATURE_SET_HASH,
            "horizon": data.horizon,
            "rows": len(data.dataset),
            "shape": list(data.panel.shape),
            "seconds": data.seconds,
        }
        (staging / _META).write_text(json.dumps(meta, indent=2))
        try:
            os.rename(staging, final)
        except OSError:
            # Another process stored the same key first: its entry is identical, keep it.
            shutil.rmtree(staging, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return key


def exists(root: Path | str, key: str) -> bool:
    return (Path(root) / key / _META).is_file()


def load(root: Path | str, key: str) -> CachedFeatures:
    """Open an entry, memory-mapped; FileNotFoundError when it is not (or not completely) there."""
    directory = Path(root) / key
    meta_path = directory / _META
    if not meta_path.is_file():
        raise FileNotFoundError(f"no cached features {key} under {root}")
    meta = json.loads(meta_path.read_text())
    if meta.get("format") != _FORMAT or meta.get("feature_set_hash") != spec.FEATURE_SET_HASH:
        raise FileNotFoundError(f"cached features {key} were written for another format or feature set")
    arrays = {path.stem: np.load(path, mmap_mode="r", allow_pickle=False) for path in sorted(directory.glob("*.npy"))}
    panel = Panel(
        dates=np.asarray(arrays["dates"]),
        symbols=np.asarray(arrays["symbols"]).astype(object),
        series=np.asarray(arrays["series"]).astype(object),
        instrument_ids=np.asarray(arrays["instrument_ids"]),
        series_names=np.asarray(arrays["series_names"]).astype(object),
        **{name: arrays[name] for name in GRID_FIELDS},
    )
    return CachedFeatures(
        key=key,
        directory=directory,
        panel=panel,
        feature_names=tuple(meta["feature_names"]),
        horizon=int(meta["horizon"]),
        arrays={name: arrays[name] for name in _ROW_ARRAYS},
    )
