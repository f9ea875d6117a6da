from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from backtesting.walkforward import make_folds

# Weekdays 2015-2022 less a few fixed holidays: a stand-in for the NSE calendar.
DATES = np.array(
    [
        d
        for d in pd.bdate_range("2015-01-01", "2022-12-30").date
        if (d.month, d.day) not in {(1, 26), (8, 15), (10, 2), (12, 25)}
    ],
    dtype="datetime64[D]",
)


def index_of(date: dt.date) -> int:
    return int(np.searchsorted(DATES, np.datetime64(date)))


def test_default_design_gives_36_ordered_contiguous_folds() -> None:
    folds = make_folds(DATES, start="2019-01-01")
    assert len(folds) == 36
    assert [f.index for f in folds] == list(range(36))
    assert folds[0].test_start == dt.date(2019, 1, 1)
    for prev, nxt in itertools.pairwise(folds):
        assert index_of(nxt.test_start) == index_of(prev.test_end) + 1  # the next trading date
        assert nxt.train_start > prev.train_start
    for fold in folds:
        assert (fold.test_end - fold.test_start).days < 30
        assert fold.n_test_dates == index_of(fold.test_end) - index_of(fold.test_start) + 1


def test_training_never_overlaps_testing_and_spans_a_year() -> None:
    for fold in make_folds(DATES, start="2019-01-01"):
        train = fold.train_mask(DATES)
        test = fold.test_mask(DATES)
        assert not (train & test).any()
        assert DATES[train].max() < DATES[test].min()
        assert train.sum() == fold.n_train_dates
        assert (fold.test_start - fold.train_start).days <= 365
        assert (fold.test_start - fold.train_start).days >= 360


@pytest.mark.parametrize("horizon", [1, 3, 5])
def test_purge_keeps_every_training_label_out_of_the_test_window(horizon: int) -> None:
    for fold in make_folds(DATES, start="2019-01-01", horizon=horizon):
        last_label_read = index_of(fold.train_end) + horizon  # the label of train_end looks this far ahead
        assert last_label_read < index_of(fold.test_start)
        assert index_of(fold.test_start) - index_of(fold.train_end) - 1 == horizon  # purge defaults to horizon


def test_a_purge_shorter_than_the_horizon_is_refused() -> None:
    with pytest.raises(ValueError, match="purge"):
        make_folds(DATES, start="2019-01-01", horizon=5, purge=2)


def test_a_longer_purge_drops_more_training_dates() -> None:
    short = make_folds(DATES, start="2019-01-01", folds=3)
    long = make_folds(DATES, start="2019-01-01", folds=3, purge=10)
    for a, b in zip(short, long, strict=True):
        assert index_of(a.train_end) - index_of(b.train_end) == 9
        assert a.test_start == b.test_start


def test_embargo_is_recorded_after_each_test_window() -> None:
    folds = make_folds(DATES, start="2019-01-01", folds=4, embargo=5)
    for fold in folds:
        assert index_of(fold.embargo_end) == index_of(fold.test_end) + 5
    for fold in folds:
        for later in folds[fold.index :]:
            assert fold.train_end < later.test_start


def test_too_little_history_or_future_is_an_error() -> None:
    with pytest.raises(ValueError, match="first training window"):
        make_folds(DATES, start="2015-06-01")
    with pytest.raises(ValueError, match="data end"):
        make_folds(DATES, start="2021-01-01")


def test_dates_given_unsorted_or_as_dates_give_the_same_folds() -> None:
    shuffled = np.random.default_rng(0).permutation(DATES)
    as_dates = [dt.date.fromisoformat(str(d)) for d in DATES]
    assert make_folds(shuffled, start="2019-01-01", folds=2) == make_folds(as_dates, start="2019-01-01", folds=2)


@pytest.mark.realdata
def test_default_design_fits_the_real_nse_calendar_from_2020(real_parquet: Path) -> None:
    dates = pd.read_parquet(real_parquet, columns=["date"])["date"].unique()
    folds = make_folds(dates, start="2020-01-01")
    assert len(folds) == 36
    assert folds[-1].test_end == dt.date(2022, 12, 30)
    assert min(f.n_train_dates for f in folds) > 230
    assert all(f.n_test_dates >= 15 for f in folds)
