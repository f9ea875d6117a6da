"""The staff forms that start a backtest or a comparison, and the in-sample warning they give."""

from __future__ import annotations

import datetime as dt

import pytest

from backtesting.forms import BacktestForm, ComparisonForm, in_sample_overlap
from tests.factories import register_version

pytestmark = pytest.mark.django_db


def test_a_period_inside_training_or_validation_is_flagged_in_sample() -> None:
    version = register_version()  # trained 2020-01-01..2021-12-31, validated to 2022-06-30
    warning = in_sample_overlap(version, start=dt.date(2022, 3, 1), end=dt.date(2022, 9, 30))
    assert warning is not None
    assert "saw 2020-01-01 to 2022-06-30" in warning
    assert "Start after 2022-06-30" in warning
    assert in_sample_overlap(version, start=dt.date(2022, 7, 1), end=dt.date(2022, 12, 31)) is None
    assert in_sample_overlap(version, start=dt.date(2019, 1, 1), end=dt.date(2019, 12, 31)) is None


def test_the_version_choice_shows_its_training_and_validation_periods() -> None:
    version = register_version()
    (label,) = [label for value, label in BacktestForm().fields["version"].choices if value]
    assert label.startswith(version.label)
    assert "trained 2020-01-01 to 2021-12-31, validated to 2022-06-30" in label


def test_a_backwards_period_or_the_same_version_twice_is_refused() -> None:
    version = register_version()
    backwards = BacktestForm({"version": version.pk, "start": "2022-12-31", "end": "2022-07-01"})
    assert not backwards.is_valid()
    assert "The start date is after the end date." in backwards.non_field_errors()
    same = ComparisonForm(
        {"version_a": version.pk, "version_b": version.pk, "start": "2022-07-01", "end": "2022-12-31"}
    )
    assert not same.is_valid()
    assert "Choose two different versions." in same.non_field_errors()
