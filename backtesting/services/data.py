"""Data helpers every backtest workflow shares: the panel of a period, date indices, scored rows,
and the on-disk feature cache under ``VCP_DATA_DIR/backtesting``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import numpy.typing as npt
from django.conf import settings

from backtesting import feature_cache
from backtesting.periods import ScoredRows
from backtesting.services.records import BacktestError, Stages
from features import spec
from marketdata.panel import Panel
from marketdata.selectors import bars_panel, nth_trading_date_before, trading_dates
from modelregistry.datasets import panel_dataset
from modelregistry.evaluation import truths_from_info
from modelregistry.rankings import strict_eligible
from modelregistry.training import INFO_HIT_TODAY, INFO_RETURN_20D, INFO_SERIES, Dataset


def data_root() -> Path:
    return Path(settings.VCP_DATA_DIR) / "backtesting"


def features_root() -> Path:
    return data_root() / "features"


def predictions_path(run_id: int, index: int) -> Path:
    return data_root() / "walkforward" / str(run_id) / f"fold-{index:02d}.npz"


def panel_for(*, first: dt.date, last: dt.date, horizon: int, exchange: str | None = None) -> Panel:
    """Bars from ``features.spec.LOOKBACK`` trading dates before ``first`` to ``horizon`` dates after ``last``.

    The history makes the features of ``first`` complete; the dates after ``last`` give its label.
    Inactive instruments are read too: dropping delisted stocks would flatter every backtest.
    """
    lookback_start = nth_trading_date_before(end=first, lookback=spec.LOOKBACK) or first
    after = trading_dates(start=last + dt.timedelta(days=1))[:horizon]
    try:
        return bars_panel(start=lookback_start, end=after[-1] if after else last, active_only=False, exchange=exchange)
    except LookupError as exc:
        raise BacktestError(f"no bars between {lookback_start} and {last}: ingest bhavcopy files first") from exc


def date_span(dates: npt.NDArray[np.datetime64], first: dt.date, last: dt.date) -> tuple[int, int]:
    """Indices of the first date >= ``first`` and the last date <= ``last``."""
    lo = int(np.searchsorted(dates, np.datetime64(first, "D"), side="left"))
    hi = int(np.searchsorted(dates, np.datetime64(last, "D"), side="right")) - 1
    if hi < lo:
        raise BacktestError(f"no trading dates between {first} and {last}")
    return lo, hi


def date_index(dates: npt.NDArray[np.datetime64], day: dt.date) -> int:
    i = int(np.searchsorted(dates, np.datetime64(day, "D")))
    if i >= dates.size or dates[i] != np.datetime64(day, "D"):
        raise BacktestError(f"{day} is not a trading date of the cached panel")
    return i


def scored_rows(
    dataset: Dataset,
    probability: npt.NDArray[np.float64],
    *,
    threshold: float | npt.ArrayLike,
    new_threshold: float | npt.ArrayLike,
) -> ScoredRows:
    """Scored rows with their three truths; ``dataset`` keeps every feature column (the strict
    ranking reads ``band_rounding_gap``), whatever subset the model was scored on."""
    n = len(dataset)
    p = np.asarray(probability, dtype=np.float64)
    cut = np.broadcast_to(np.asarray(threshold, dtype=np.float64), (n,)).copy()
    return ScoredRows(
        y=dataset.y.astype(np.float64),
        probability=p,
        decision=p >= cut,
        dates=dataset.row_dates,
        hit_today=np.asarray(dataset.info[INFO_HIT_TODAY], dtype=bool),
        momentum=np.asarray(dataset.info[INFO_RETURN_20D], dtype=np.float64),
        series=np.asarray(dataset.info[INFO_SERIES], dtype=object),
        truths=tuple(truths_from_info(dataset.info)),
        threshold=cut,
        new_threshold=np.broadcast_to(np.asarray(new_threshold, dtype=np.float64), (n,)).copy(),
        strict_eligible=strict_eligible(dataset.X, dataset.feature_names),
    )


def score_matrix(
    shape: tuple[int, int], date_idx: npt.ArrayLike, stock_idx: npt.ArrayLike, values: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """(T, N) scores, NaN where a stock-day was not scored."""
    out = np.full(shape, np.nan)
    out[np.asarray(date_idx), np.asarray(stock_idx)] = np.asarray(values, dtype=np.float64)
    return out


def features_cached(panel: Panel, *, horizon: int, stages: Stages) -> feature_cache.CachedFeatures:
    """The cached features of ``panel``: computed and stored unless an identical panel was cached."""
    root = features_root()
    with stages("fingerprint"):
        key = feature_cache.panel_key(panel, horizon=horizon)
    if not feature_cache.exists(root, key):
        with stages("features"):
            data = panel_dataset(panel, horizon=horizon)
        with stages("cache_write"):
            feature_cache.store(root, data, key=key)
    return feature_cache.load(root, key)
