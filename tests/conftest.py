"""Shared fixtures. Real data lives in ../shared/data; tests that need it skip where it is absent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

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


@pytest.fixture
def eager_celery() -> Iterator[None]:
    """Tasks run in-process, whatever the broker settings (``make test`` points Celery at Redis)."""
    from vcp_platform.celery import app

    saved = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved
