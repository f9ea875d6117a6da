"""The trace id: X-Request-ID in and out, in the request's log lines, and in the log lines of the
Celery task the request started (eagerly in-process, and through Redis to a real worker process,
whose own metrics port then counts the task)."""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.urls import reverse
from prometheus_client.parser import text_string_to_metric_families

from common.logging import TraceIdFilter, build_logging_config
from common.tracing import get_trace_id

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def json_log() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The project's JSON formatter and trace-id filter on the root logger; returns the parsed lines."""
    formatter_config = build_logging_config(log_dir=Path("."), json_format=True, to_file=False, level="INFO")[
        "formatters"
    ]["json"]
    formatter_class = formatter_config["()"]
    module, _, name = formatter_class.rpartition(".")
    formatter = getattr(__import__(module, fromlist=[name]), name)(
        fmt=formatter_config["fmt"], rename_fields=formatter_config["rename_fields"]
    )
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(TraceIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(level)


def test_a_safe_incoming_request_id_is_echoed(client: Any, db: None) -> None:
    response = client.get(reverse("staff:dashboard"), HTTP_X_REQUEST_ID="req-42.a:b")
    assert response["X-Request-ID"] == "req-42.a:b"


def test_a_missing_or_unsafe_request_id_is_replaced(client: Any, db: None) -> None:
    generated = client.get(reverse("staff:dashboard"))["X-Request-ID"]
    assert len(generated) == 32
    unsafe = client.get(reverse("staff:dashboard"), HTTP_X_REQUEST_ID="<script>\n")["X-Request-ID"]
    assert unsafe != "<script>\n"
    assert len(unsafe) == 32
    assert get_trace_id() is None  # reset after each request


def test_request_and_eager_task_log_lines_share_the_request_id(
    admin_client: Any,
    eager_celery: None,
    json_log: Callable[[], list[dict[str, Any]]],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("staff:run_check", args=["drift"]), HTTP_X_REQUEST_ID="trace-eager-1")
    assert response["X-Request-ID"] == "trace-eager-1"
    lines = json_log()
    request_lines = [line for line in lines if line["logger"] == "vcp.monitoring.views"]
    task_lines = [line for line in lines if line["logger"] in {"vcp.monitoring.tasks", "vcp.monitoring"}]
    assert request_lines
    assert task_lines
    assert {line["trace_id"] for line in request_lines + task_lines} == {"trace-eager-1"}
    assert any(line["message"] == "check_drift started" for line in task_lines)
    assert get_trace_id() is None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _worker_env(tmp_path: Path, metrics_port: int) -> dict[str, str]:
    db = connection.settings_dict
    database_url = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "vcp_platform.settings",
            "DEBUG": "1",
            "SECRET_KEY": "test-only-not-secret",
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": str(django_settings.CELERY_BROKER_URL),
            "CELERY_RESULT_BACKEND": str(django_settings.CELERY_BROKER_URL),
            "VCP_LOG_TO_FILE": "1",
            "VCP_LOG_JSON": "1",
            "VCP_DATA_DIR": str(tmp_path),
            "VCP_LOG_DIR": str(tmp_path / "logs"),
            "PYTHONPATH": str(ROOT),
            "VCP_CELERY_METRICS_PORT": str(metrics_port),
        }
    )
    return env


def _task_successes(port: int) -> float | None:
    """vcp_celery_tasks_total for check_drift successes on the worker's own metrics port."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
            text = response.read().decode()
    except OSError:
        return None
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "vcp_celery_tasks_total" and sample.labels == {
                "task": "monitoring.tasks.check_drift",
                "state": "success",
            }:
                return sample.value
    return None


def _read_lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_request_id_reaches_the_log_lines_of_a_real_celery_worker_and_its_metrics_count_the_task(
    admin_client: Any, tmp_path: Path, json_log: Callable[[], list[dict[str, Any]]]
) -> None:
    if django_settings.CELERY_TASK_ALWAYS_EAGER or not django_settings.CELERY_BROKER_URL:
        pytest.skip("needs a Redis broker: set REDIS_URL (the test settings then run Celery for real)")
    if connection.vendor != "postgresql":
        pytest.skip("the worker process needs a database server it can share with the test")
    from vcp_platform.celery import app

    app.control.purge()  # messages left by an interrupted run would reach this worker first
    metrics_port = _free_port()
    stderr = (tmp_path / "worker.stderr").open("wb")
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "vcp_platform",
            "worker",
            "--pool=solo",
            "-Q",
            "vcp",
            "-l",
            "INFO",
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
            "-n",
            f"trace-test-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=_worker_env(tmp_path, metrics_port),
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )
    log_file = tmp_path / "logs" / "vcp.log"
    try:
        response = admin_client.post(reverse("staff:run_check", args=["drift"]), HTTP_X_REQUEST_ID="trace-worker-7")
        assert response["X-Request-ID"] == "trace-worker-7"
        request_lines = [line for line in json_log() if line["logger"] == "vcp.monitoring.views"]
        assert [line["trace_id"] for line in request_lines] == ["trace-worker-7"]

        deadline = time.monotonic() + 90
        task_lines: list[dict[str, Any]] = []
        while time.monotonic() < deadline and worker.poll() is None:
            task_lines = [line for line in _read_lines(log_file) if line["logger"].startswith("vcp.monitoring")]
            if any(line["message"].startswith("no production version") for line in task_lines):
                break
            time.sleep(0.5)
        assert worker.poll() is None, f"the worker exited: {(tmp_path / 'worker.stderr').read_text()[-2000:]}"
        assert task_lines, f"no task log lines in {log_file}"
        assert {line["trace_id"] for line in task_lines} == {"trace-worker-7"}
        assert {"check_drift started", "no production version: nothing to monitor"} <= {
            line["message"] for line in task_lines
        }

        # The worker serves its own registry (VCP_CELERY_METRICS_PORT) and counted the task there.
        successes = None
        while time.monotonic() < deadline and successes != 1.0:
            successes = _task_successes(metrics_port)
            time.sleep(0.2)
        assert successes == 1.0
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=10)
        stderr.close()
