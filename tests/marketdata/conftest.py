"""Fixtures of the marketdata tests: one synthetic market shared by the tests of a module."""

from __future__ import annotations

import datetime as dt

import pytest

from marketdata.synthetic import SyntheticMarket, generate_market

END = dt.date(2024, 6, 28)


@pytest.fixture(scope="module")
def market() -> SyntheticMarket:
    """200 synthetic stocks over the 300 XBOM sessions ending on END (seed 7); read only."""
    return generate_market(stocks=200, days=300, seed=7, end=END)
