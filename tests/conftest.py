"""Shared fixtures. Real data lives in ../shared/data; tests that need it skip where it is absent."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from common import sharedcache
from common.api.authentication import forget_all_tokens
from common.api.throttling import throttle_state_clear
from modelregistry.loader import loader, registry_changed
from modelregistry.models import ModelVersion
from modelregistry.services import model_version_promote
from predictions.cache import caches_clear_local
from predictions.lookups import lookups_clear
from tests.factories import register_version

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
REAL_PARQUET = SHARED_DATA / "nse_eq_daily_2015_2022.parquet"
RAW_DIR = SHARED_DATA / "raw"


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real market data not found at {SHARED_DATA} (it sits beside the checkout in CI)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def real_parquet(shared_data_dir: Path) -> Path:
    if not REAL_PARQUET.is_file():
        pytest.skip(f"{REAL_PARQUET} is missing")
    return REAL_PARQUET


@pytest.fixture(scope="session")
def raw_dir(shared_data_dir: Path) -> Path:
    if not RAW_DIR.is_dir():
        pytest.skip(f"{RAW_DIR} is missing")
    return RAW_DIR


@pytest.fixture(autouse=True)
def _isolated_data_dirs(settings: pytest.FixtureRequest, tmp_path: Path) -> None:
    """Every test writes artifacts and exports into its own temporary directory."""
    settings.VCP_ARTIFACT_ROOT = tmp_path / "artifacts"  # type: ignore[attr-defined]
    settings.VCP_EXPORT_DIR = tmp_path / "exports"  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _shared_cache_breaker_closed() -> Iterator[None]:
    """A test that simulates a Redis outage opens the per-process breaker (common/sharedcache.py) for
    a few seconds; the next test starts with Redis in use again."""
    sharedcache.breaker.reset()
    yield
    sharedcache.breaker.reset()


@pytest.fixture
def eager_celery() -> Iterator[None]:
    """Tasks run in-process, whatever the broker settings (``make test`` points Celery at Redis)."""
    from vcp_platform.celery import app

    saved = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


# --- The API: a promoted version, token clients, and serving state forgotten between tests -----------


def reset_serving_state() -> None:
    """Forget everything a previous test left in this process and in the shared cache."""
    sharedcache.breaker.reset()
    cache.clear()
    loader.clear()
    caches_clear_local()
    lookups_clear()
    forget_all_tokens()
    throttle_state_clear()


@pytest.fixture
def fresh_serving_state() -> Iterator[None]:
    """Cached tokens, throttle counters, the loaded model and the serving caches start empty and end empty."""
    reset_serving_state()
    yield
    reset_serving_state()


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
