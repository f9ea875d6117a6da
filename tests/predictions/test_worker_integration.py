"""Batch scoring on a REAL Celery worker (Redis broker on its own db), one chunk's first attempt killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.conf import LazySettings, settings
from django.db import connection
from django.db.models import Count

from common.choices import RunStatus
from modelregistry.models import ModelVersion
from predictions.models import BatchRun, Prediction
from tests.factories import register_version
from tests.predictions.conftest import load_market, promote

ROOT = Path(__file__).resolve().parents[2]
BROKER_DB = 9
pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _database_url() -> str:
    db = connection.settings_dict  # pytest-django's test database (test_<name>), which the worker must use
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _broker_url() -> str:
    base = (settings.REDIS_URL or "redis://127.0.0.1:6379/0").rsplit("/", 1)[0]
    return f"{base}/{BROKER_DB}"


@pytest.fixture
def worker_env(settings: LazySettings, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "PYTEST_", "COV_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="vcp_platform.settings",
        DATABASE_URL=_database_url(),
        CELERY_BROKER_URL=_broker_url(),
        CELERY_RESULT_BACKEND=_broker_url(),
        CELERY_TASK_ALWAYS_EAGER="0",
        VCP_ARTIFACT_ROOT=str(settings.VCP_ARTIFACT_ROOT),
        VCP_EXPORT_DIR=str(settings.VCP_EXPORT_DIR),
        VCP_TEST_KILL_MARKER=str(tmp_path / "kill-first-attempt"),
        VCP_LOG_TO_FILE="0",
        DEBUG="1",
        PYTHONPATH=str(ROOT),
    )
    env.setdefault("SECRET_KEY", "test-only-not-secret")
    if settings.REDIS_URL:
        env["REDIS_URL"] = settings.REDIS_URL
    return env


@pytest.fixture
def worker(worker_env: dict[str, str], tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    broker = redis.Redis.from_url(_broker_url())
    broker.flushdb()  # no message left over from an earlier run may reach this worker
    log = open(tmp_path / "worker.log", "wb")  # noqa: SIM115 - closed below, after the process
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "vcp_platform",
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            "2",
            "--pool",
            "prefork",
            "--include",
            "tests.predictions.worker_faults",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"vcp-test-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=worker_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        log.close()
        broker.flushdb()


def test_a_real_worker_scores_every_chunk_once_even_when_one_attempt_is_killed(
    worker: subprocess.Popen[bytes], worker_env: dict[str, str], tmp_path: Path
) -> None:
    market = load_market(stocks=60)
    production: ModelVersion = promote(register_version(seed=1))
    marker = Path(worker_env["VCP_TEST_KILL_MARKER"])
    marker.write_text("armed")
    started = time.monotonic()

    command = subprocess.run(
        [sys.executable, "manage.py", "score_universe", "--workers", "--chunk-size", "12", "--timeout", "60"],
        cwd=ROOT,
        env=worker_env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )

    log = (tmp_path / "worker.log").read_text(errors="replace")
    assert command.returncode == 0, f"{command.stdout}\n{command.stderr}\n--- worker log ---\n{log[-4000:]}"
    fired = json.loads(Path(f"{marker}.fired").read_text())
    assert not marker.exists()
    run = BatchRun.objects.get()
    assert run.status == RunStatus.SUCCEEDED
    assert run.model_version_id == production.pk
    assert run.chunks_total >= 4
    assert run.chunks_done == run.chunks_total
    predictions = Prediction.objects.filter(date=market.last, model_version=production)
    assert predictions.count() == run.instruments == run.scored
    assert not predictions.values("instrument").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert set(fired["instrument_ids"]) <= set(predictions.values_list("instrument_id", flat=True))
    assert sorted(predictions.values_list("rank", flat=True)) == list(range(1, run.instruments + 1))
    assert "WorkerLostError" in log or "exited" in log  # the kill really happened in a worker process
    assert Path(run.export_path).is_file()
    assert time.monotonic() - started < 60
