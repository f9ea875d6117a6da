from __future__ import annotations

import argparse
import datetime as dt

import pytest
from django.core.management import CommandError

from common.formatting import as_date, fmt_number, iso_date


def test_iso_date_parses_and_names_the_expected_form() -> None:
    assert iso_date("2024-04-01") == dt.date(2024, 4, 1)
    with pytest.raises(argparse.ArgumentTypeError, match="YYYY-MM-DD"):
        iso_date("01/04/2024")


def test_as_date_accepts_parsed_and_raw_values_and_names_the_option() -> None:
    assert as_date(None, option="--date") is None
    assert as_date(dt.date(2024, 4, 1), option="--date") == dt.date(2024, 4, 1)
    assert as_date("2024-04-01", option="--date") == dt.date(2024, 4, 1)
    with pytest.raises(CommandError, match="--date: 'soon' is not a date"):
        as_date("soon", option="--date")


def test_fmt_number_shows_undefined_metrics_as_a_dash() -> None:
    assert fmt_number(None) == "-"
    assert fmt_number(0.12345) == "0.123"
    assert fmt_number(0.5, "{:.1%}") == "50.0%"
