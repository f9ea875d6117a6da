"""Walk-forward fold boundaries: retrain on the past year, predict the next month, roll forward.

Pure numpy/pandas, no Django. ``trading_dates`` is the market's trading dates (any array-like of
dates); every boundary returned is one of them. Units:

* ``train_days`` and ``test_days`` are *calendar* days (a year and a month read naturally and do
  not drift with holidays); each window holds the trading dates that fall inside it.
* ``horizon``, ``purge`` and ``embargo`` are *trading* days, because a label looks ``horizon``
  trading dates ahead (``circuits.next_day_label``).

Fold ``k`` tests on the trading dates in ``[test_start, test_start + test_days)``; fold ``k + 1``
starts on the next trading date, so the test windows are contiguous and never overlap. Its training
window is the trading dates in ``[test_start - train_days, test_start)`` less the last ``purge``
of them: the label of a row on date ``t`` reads the outcomes of the next ``horizon`` trading dates,
so a training row within ``horizon`` dates of the test window would carry test-period outcomes.
With ``purge >= horizon`` (enforced), ``index(train_end) + horizon < index(test_start)``.

Embargo: in purged k-fold cross-validation training data can lie *after* a test window, and the
embargo drops the first ``embargo`` trading dates after it, whose features are serially correlated
with the test period. A rolling walk-forward never trains on anything after its own test window,
so the embargo removes nothing there; it is recorded on each fold (``embargo_end``) and
``make_folds`` checks that no fold's training window reaches into the test-plus-embargo span of
itself or a later fold. It only matters if these folds are reused out of order.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

DateArray = npt.NDArray[np.datetime64]

# A weekend plus a holiday can separate the last trading date from the calendar end of a window
# that the data do cover, so the last test window may overhang the data by this many days.
END_SLACK_DAYS = 3


@dataclass(frozen=True)
class Fold:
    """One retrain-then-predict cycle; every date is a trading date, windows are inclusive."""

    index: int
    train_start: dt.date
    train_end: dt.date
    test_start: dt.date
    test_end: dt.date
    embargo_end: dt.date
    n_train_dates: int
    n_test_dates: int

    def train_mask(self, dates: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Which of ``dates`` (per row, e.g. one per stock-day) belong to the training window."""
        d = _as_days(dates)
        return (d >= np.datetime64(self.train_start)) & (d <= np.datetime64(self.train_end))

    def test_mask(self, dates: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        d = _as_days(dates)
        return (d >= np.datetime64(self.test_start)) & (d <= np.datetime64(self.test_end))


def _as_days(dates: npt.ArrayLike) -> DateArray:
    return np.asarray(dates, dtype="datetime64[D]").ravel()


def _date(value: np.datetime64) -> dt.date:
    return dt.date.fromisoformat(str(value.astype("datetime64[D]")))


def make_folds(
    trading_dates: npt.ArrayLike,
    *,
    start: dt.date | str | np.datetime64,
    folds: int = 36,
    train_days: int = 365,
    test_days: int = 30,
    horizon: int = 1,
    purge: int | None = None,
    embargo: int = 0,
) -> list[Fold]:
    """``folds`` consecutive folds, the first testing from the first trading date >= ``start``.

    ``purge`` defaults to ``horizon``. Raises ValueError when the dates cannot hold a full training
    window before the first test, when they end more than ``END_SLACK_DAYS`` calendar days before
    the last test window does, or when ``purge < horizon``.
    """
    purge = horizon if purge is None else purge
    if horizon < 1:
        raise ValueError("horizon must be at least 1 trading day")
    if purge < horizon:
        raise ValueError(f"purge ({purge}) must be at least the label horizon ({horizon}) or labels leak")
    if embargo < 0 or folds < 1 or train_days < 1 or test_days < 1:
        raise ValueError("folds, train_days and test_days must be positive and embargo non-negative")
    dates = np.unique(_as_days(trading_dates))
    if dates.size == 0:
        raise ValueError("no trading dates")
    first_test = pd.Timestamp(start).to_datetime64().astype("datetime64[D]")
    if first_test - np.timedelta64(train_days, "D") < dates[0]:
        raise ValueError(
            f"the first training window would start at {first_test - np.timedelta64(train_days, 'D')}, "
            f"before the first trading date {dates[0]}"
        )

    out: list[Fold] = []
    test_lo = int(np.searchsorted(dates, first_test, side="left"))
    for k in range(folds):
        if test_lo >= dates.size:
            raise ValueError(f"the trading dates end before fold {k} (of {folds}) can start")
        test_start = dates[test_lo]
        window_end = test_start + np.timedelta64(test_days, "D")
        last_needed = window_end - np.timedelta64(1 + END_SLACK_DAYS, "D")
        if last_needed > dates[-1]:
            raise ValueError(
                f"fold {k} (of {folds}) tests until {window_end - np.timedelta64(1, 'D')}, the data end at {dates[-1]}"
            )
        test_hi = int(np.searchsorted(dates, window_end, side="left")) - 1
        train_lo = int(np.searchsorted(dates, test_start - np.timedelta64(train_days, "D"), side="left"))
        train_hi = test_lo - 1 - purge
        if train_hi < train_lo:
            raise ValueError(f"fold {k} has no training dates left after a purge of {purge}")
        embargo_hi = min(test_hi + embargo, dates.size - 1)
        out.append(
            Fold(
                index=k,
                train_start=_date(dates[train_lo]),
                train_end=_date(dates[train_hi]),
                test_start=_date(test_start),
                test_end=_date(dates[test_hi]),
                embargo_end=_date(dates[embargo_hi]),
                n_train_dates=train_hi - train_lo + 1,
                n_test_dates=test_hi - test_lo + 1,
            )
        )
        test_lo = test_hi + 1
    _check_no_leak(out)
    return out


def _check_no_leak(folds: list[Fold]) -> None:
    for fold in folds:
        for later in folds[fold.index :]:
            if fold.train_end >= later.test_start and fold.train_start <= later.embargo_end:
                raise RuntimeError(f"fold {fold.index} trains inside the test or embargo span of fold {later.index}")
