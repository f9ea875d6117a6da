"""Fixtures of the registry command tests: a synthetic market long enough to train on."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from marketdata.services import bars_upsert
from marketdata.synthetic import generate_market


@pytest.fixture
def market() -> tuple[dt.date, dt.date]:
    """80 synthetic NSE stocks over 420 sessions to 28 June 2024, stored as bars: (first date, last date)."""
    synthetic = generate_market(stocks=80, days=420, seed=3, end=dt.date(2024, 6, 28))
    with transaction.atomic():
        bars_upsert(frame=synthetic.bars, exchange="NSE")
    dates = sorted(synthetic.bars["date"].unique())
    return dates[0].date(), dates[-1].date()
