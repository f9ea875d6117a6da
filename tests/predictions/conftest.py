"""Fixtures of the prediction tests: a small synthetic market in the database, eager chords, fresh serving state.

The promoted model (``production``) and the token clients (``client_api``, ``make_client``) are in
tests/conftest.py, shared with the registry and common API tests.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from celery import current_app

from marketdata.models import Instrument
from marketdata.services import bars_upsert
from marketdata.synthetic import SyntheticMarket, generate_market
from tests.conftest import reset_serving_state

# 330 sessions: the 310 dates of feature history plus a few scoring days. Ends on a known Friday.
MARKET_DAYS = 330
MARKET_END = dt.date(2024, 8, 2)


@dataclass(frozen=True)
class Market:
    dates: list[dt.date]
    symbols: list[str]

    @property
    def last(self) -> dt.date:
        return self.dates[-1]


@pytest.fixture(autouse=True)
def _fresh_serving_state() -> Iterator[None]:
    # The suite runs with REDIS_URL set, which makes Celery use a broker; these tests run chords in-process.
    conf = current_app.conf
    saved = (conf.task_always_eager, conf.task_eager_propagates)
    conf.task_always_eager, conf.task_eager_propagates = True, True
    reset_serving_state()
    yield
    reset_serving_state()
    conf.task_always_eager, conf.task_eager_propagates = saved


@functools.cache
def _generated(stocks: int, days: int, seed: int) -> SyntheticMarket:
    return generate_market(stocks=stocks, days=days, seed=seed, end=MARKET_END)


def load_market(*, stocks: int, days: int = MARKET_DAYS, seed: int = 11) -> Market:
    market = _generated(stocks, days, seed)
    bars_upsert(frame=market.bars.copy(), exchange="NSE")
    dates = sorted({d.date() for d in market.bars["date"]})
    return Market(dates=dates, symbols=sorted(market.bars["symbol"].unique()))


@pytest.fixture
def market(db: None) -> Market:
    return load_market(stocks=24)


def symbol_with_bar(day: dt.date) -> str:
    """An active instrument that traded on ``day``."""
    return Instrument.objects.filter(bars__date=day, active=True).order_by("symbol").values_list("symbol", flat=True)[0]


@pytest.fixture
def shared_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many keys each read of the shared (Redis) cache tier asked for, in order."""
    from predictions import cache

    reads: list[int] = []
    real = cache.shared_cache.get_many

    def counting(keys: Any) -> Any:
        keys = list(keys)
        reads.append(len(keys))
        return real(keys)

    monkeypatch.setattr(cache.shared_cache, "get_many", counting)
    return reads
