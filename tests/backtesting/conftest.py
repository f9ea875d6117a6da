"""Fixtures of the backtesting tests: a small synthetic market in the database, eager Celery, a data dir."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.conf import LazySettings

from marketdata.calendar import end_for_start
from marketdata.choices import Exchange
from marketdata.services import bars_upsert
from marketdata.synthetic import SyntheticMarket, generate_market
from modelregistry.datasets import PanelDataset, panel_dataset

MARKET_START = dt.date(2021, 1, 4)
MARKET_DAYS = 330
# Fold-training options that keep a command test quick: few boosting rounds, a short validation tail.
FAST = ["--rounds", "10", "--valid-dates", "20"]


@pytest.fixture(autouse=True)
def data_dir(settings: LazySettings, tmp_path: Path) -> Path:
    """Feature caches and fold predictions go into the test's own directory."""
    settings.VCP_DATA_DIR = tmp_path / "data"  # type: ignore[attr-defined]
    return tmp_path / "data"


@pytest.fixture
def market(db: None) -> SyntheticMarket:
    """120 synthetic NSE stocks over 330 sessions from 4 Jan 2021, stored as bars."""
    synthetic = generate_market(
        stocks=120, days=MARKET_DAYS, seed=11, end=end_for_start(start=MARKET_START, days=MARKET_DAYS)
    )
    bars_upsert(frame=synthetic.bars, exchange=Exchange.NSE)
    return synthetic


@pytest.fixture(scope="session")
def synthetic_data() -> PanelDataset:
    """Features, labels and rows of the same synthetic market, computed once (no database)."""
    synthetic = generate_market(
        stocks=120, days=MARKET_DAYS, seed=11, end=end_for_start(start=MARKET_START, days=MARKET_DAYS)
    )
    return panel_dataset(synthetic.panel())
