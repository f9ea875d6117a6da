"""Batch scoring on a REAL Celery worker (Redis broker on its own db), one chunk's first attempt killed."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
import redis
from django.conf import LazySettings, settings
from django.db import connection
from django.db.models import Count

from common.choices import RunStatus
from marketdata.selectors import instruments_with_bar_on
from modelregistry.models import ModelVersion
from predictions.models import BatchRun, Prediction
from tests.conftest import promote
from tests.factories import register_version
from tests.predictions.conftest import load_market

ROOT = Path(__file__).resolve().parents[2]
# Redis db of the test broker (flushed by the fixtures): set VCP_TEST_BROKER_DB to keep apart from others.
BROKER_DB = int(os.environ.get("VCP_TEST_BROKER_DB", "9"))
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


def _start_worker(env: dict[str, str], log_path: Path, name: str) -> tuple[subprocess.Popen[bytes], IO[bytes]]:
    log = open(log_path, "wb")  # noqa: SIM115 - closed by the caller, after the process
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
            f"{name}-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the test can kill the worker and its children
    )
    return process, log


def _stop(process: subprocess.Popen[bytes], *, sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture
def worker(worker_env: dict[str, str], tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    broker = redis.Redis.from_url(_broker_url())
    broker.flushdb()  # no message left over from an earlier run may reach this worker
    process, log = _start_worker(worker_env, tmp_path / "worker.log", "vcp-test")
    try:
        yield process
    finally:
        _stop(process)
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


# The test broker redelivers an unacknowledged message after 4 s (production: VCP_ACKS_LATE_TIME_LIMIT + 60 s).
SHORT_VISIBILITY = 4


def _wait_for(predicate: object, *, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}\n--- worker log ---\n{log.read_text(errors='replace')[-4000:]}")


def test_a_worker_killed_with_sigkill_mid_run_leaves_its_chunks_to_another_and_the_run_completes_honestly(
    worker_env: dict[str, str], tmp_path: Path
) -> None:
    market = load_market(stocks=60)
    production: ModelVersion = promote(register_version(seed=1))
    hang = tmp_path / "hang-chunks"
    hang.write_text("armed")
    env = {**worker_env, "VCP_BROKER_VISIBILITY_TIMEOUT": str(SHORT_VISIBILITY), "VCP_TEST_HANG_MARKER": str(hang)}
    broker = redis.Redis.from_url(_broker_url())
    broker.flushdb()
    first, first_log = _start_worker(env, tmp_path / "first.log", "vcp-doomed")
    second: subprocess.Popen[bytes] | None = None
    second_log: IO[bytes] | None = None
    command = subprocess.Popen(
        [sys.executable, "manage.py", "score_universe", "--workers", "--chunk-size", "12", "--timeout", "150"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # Both of the first worker's processes take a chunk and hang in it: two messages in flight, unacked.
        _wait_for(
            lambda: len(list(tmp_path.glob("hang-chunks.hung.*"))) == 2,
            timeout=90,
            what="two chunks in flight",
            log=tmp_path / "first.log",
        )
        hung = [json.loads(p.read_text())["instrument_ids"] for p in tmp_path.glob("hang-chunks.hung.*")]
        hang.unlink()  # a redelivered chunk must not hang again
        os.killpg(first.pid, signal.SIGKILL)  # the whole worker, main process included: nothing acks or requeues
        first.wait(timeout=20)
        assert first.returncode == -signal.SIGKILL
        run = BatchRun.objects.get()
        assert run.status == RunStatus.RUNNING
        assert run.chunks_done < run.chunks_total
        killed_at = time.monotonic()

        second, second_log = _start_worker(env, tmp_path / "second.log", "vcp-survivor")
        out, err = command.communicate(timeout=150)
        recovered = time.monotonic() - killed_at
    finally:
        if command.poll() is None:
            command.kill()
        _stop(first, sig=signal.SIGKILL)
        first_log.close()
        if second is not None:
            _stop(second)
        if second_log is not None:
            second_log.close()
        broker.flushdb()

    logs = (tmp_path / "second.log").read_text(errors="replace")
    assert command.returncode == 0, f"{out}\n{err}\n--- second worker ---\n{logs[-4000:]}"
    run = BatchRun.objects.get()
    assert run.status == RunStatus.SUCCEEDED
    assert run.model_version_id == production.pk
    assert (run.chunks_done, run.scored, run.error) == (run.chunks_total, run.instruments, "")
    # The record says what happened: the two chunks the dead worker held came back to another one.
    assert run.note.count("redelivered after its worker was lost") == 2, run.note
    predictions = Prediction.objects.filter(date=market.last, model_version=production)
    assert predictions.count() == run.instruments == len(instruments_with_bar_on(date=market.last))
    assert not predictions.values("instrument").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert {i for ids in hung for i in ids} <= set(predictions.values_list("instrument_id", flat=True))
    assert sorted(predictions.values_list("rank", flat=True)) == list(range(1, run.instruments + 1))
    assert Path(run.export_path).is_file()
    assert recovered < 60  # the broker's default visibility timeout would have held the chunks for an hour
