"""Fixtures of the prediction tests: a small synthetic market in the database, a promoted model, clients."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from celery import current_app
from django.contrib.auth import get_user_model
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from common.api.authentication import forget_all_tokens
from marketdata.models import Instrument
from marketdata.services import bars_upsert
from marketdata.synthetic import SyntheticMarket, generate_market
from modelregistry.loader import loader, registry_changed
from modelregistry.models import ModelVersion
from modelregistry.services import model_version_promote
from predictions.cache import caches_clear_local
from predictions.lookups import lookups_clear
from tests.factories import register_version

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


def reset_serving_state() -> None:
    """Forget everything a previous test left in this process and in the shared cache."""
    cache.clear()
    loader.clear()
    caches_clear_local()
    lookups_clear()
    forget_all_tokens()


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


def promote(version: ModelVersion) -> ModelVersion:
    promoted = model_version_promote(version=version, actor=None, reason="test")
    # Outside a transactional test on_commit never fires, so announce the change by hand.
    registry_changed()
    return promoted


@pytest.fixture
def production(db: None) -> ModelVersion:
    return promote(register_version(seed=1))


@pytest.fixture
def make_client(db: None) -> Callable[..., APIClient]:
    def make(username: str = "desk") -> APIClient:
        user, _ = get_user_model().objects.get_or_create(username=username)
        token, _ = Token.objects.get_or_create(user=user)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return make


@pytest.fixture
def client_api(make_client: Callable[..., APIClient]) -> APIClient:
    return make_client()


def symbol_with_bar(day: dt.date) -> str:
    """An active instrument that traded on ``day``."""
    return Instrument.objects.filter(bars__date=day, active=True).order_by("symbol").values_list("symbol", flat=True)[0]
