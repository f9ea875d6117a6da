from __future__ import annotations

import socket
import urllib.request
from collections.abc import Iterator

import pytest
from celery import Celery
from prometheus_client import REGISTRY

from common import metrics


def _value(name: str, labels: dict[str, str] | None = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


@pytest.fixture
def no_state_source() -> Iterator[None]:
    yield
    metrics.state_source_register(refresh=None)


def test_observe_prediction_counts_and_times_one_request() -> None:
    labels = {"endpoint": "predict-test", "le": "0.005"}
    count_before = _value("vcp_predictions_total", {"model_version": "t-v1", "outcome": "positive"})
    bucket_before = _value("vcp_prediction_latency_seconds_bucket", labels)
    sum_before = _value("vcp_prediction_latency_seconds_sum", {"endpoint": "predict-test"})

    metrics.observe_prediction(endpoint="predict-test", model_version="t-v1", outcome="positive", seconds=0.004)
    metrics.observe_prediction(endpoint="predict-test", model_version="t-v1", outcome="positive", seconds=0.02)

    assert _value("vcp_predictions_total", {"model_version": "t-v1", "outcome": "positive"}) == count_before + 2
    assert _value("vcp_prediction_latency_seconds_bucket", labels) == bucket_before + 1  # only the 4 ms one
    assert _value("vcp_prediction_latency_seconds_sum", {"endpoint": "predict-test"}) == pytest.approx(
        sum_before + 0.024
    )


def test_observe_prediction_rejects_an_unknown_outcome() -> None:
    with pytest.raises(ValueError, match="outcome"):
        metrics.observe_prediction(endpoint="predict", model_version="t-v1", outcome="maybe", seconds=0.001)


def test_cache_lookups_count_hits_and_misses_per_tier_and_kind() -> None:
    hit = {"tier": "redis", "kind": "features", "result": "hit"}
    miss = {"tier": "redis", "kind": "features", "result": "miss"}
    hits, misses = _value("vcp_cache_lookups_total", hit), _value("vcp_cache_lookups_total", miss)
    metrics.observe_cache(tier="redis", kind="features", hit=True)
    metrics.observe_cache(tier="redis", kind="features", hit=False)
    metrics.observe_cache(tier="redis", kind="features", hit=True)
    assert _value("vcp_cache_lookups_total", hit) == hits + 2
    assert _value("vcp_cache_lookups_total", miss) == misses + 1
    with pytest.raises(ValueError, match="tier"):
        metrics.observe_cache(tier="disk", kind="features", hit=True)


def test_every_cache_series_exists_before_the_first_lookup() -> None:
    for tier in metrics.CACHE_TIERS:
        for kind in metrics.CACHE_KINDS:
            for result in ("hit", "miss"):
                labels = {"tier": tier, "kind": kind, "result": result}
                assert REGISTRY.get_sample_value("vcp_cache_lookups_total", labels) is not None


def test_batch_runs_record_duration_rows_and_heartbeat() -> None:
    runs_before = _value("vcp_batch_runs_total", {"status": "success"})
    rows_before = _value("vcp_batch_rows_scored_total")
    count_before = _value("vcp_batch_run_duration_seconds_count", {"status": "success"})

    metrics.observe_batch_run(status="success", seconds=42.0, rows=2_100, finished_at=1_700_000_000.0)
    assert _value("vcp_batch_runs_total", {"status": "success"}) == runs_before + 1
    assert _value("vcp_batch_rows_scored_total") == rows_before + 2_100
    assert _value("vcp_batch_run_duration_seconds_count", {"status": "success"}) == count_before + 1
    assert _value("vcp_batch_last_success_timestamp_seconds") == 1_700_000_000.0

    metrics.observe_batch_run(status="skipped", seconds=0.1, rows=0, finished_at=1_700_086_400.0)
    assert _value("vcp_batch_last_success_timestamp_seconds") == 1_700_086_400.0  # a holiday is a heartbeat

    metrics.observe_batch_run(status="failure", seconds=3.0, rows=0, finished_at=1_700_172_800.0)
    assert _value("vcp_batch_last_success_timestamp_seconds") == 1_700_086_400.0  # a failure is not
    with pytest.raises(ValueError, match="status"):
        metrics.observe_batch_run(status="done", seconds=1.0, rows=1)


def test_process_collector_exports_cpu_memory_and_open_fds() -> None:
    names = {sample.name for family in REGISTRY.collect() for sample in family.samples}
    assert {"process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds"} <= names
    assert _value("process_resident_memory_bytes") > 0
    assert _value("process_open_fds") > 0


def test_celery_signals_count_success_failure_and_retry() -> None:
    metrics.connect_celery_signals()
    metrics.connect_celery_signals()  # idempotent: still one count per outcome
    app = Celery("vcp-metrics-test", set_as_current=False)
    app.conf.task_always_eager = True

    @app.task(name="tests.ok")
    def ok() -> int:
        return 1

    @app.task(name="tests.boom")
    def boom() -> None:
        raise RuntimeError("boom")

    @app.task(bind=True, name="tests.flaky", max_retries=1, default_retry_delay=0)
    def flaky(self: object) -> None:
        raise self.retry(exc=RuntimeError("again"))  # type: ignore[attr-defined]

    def count(task: str, state: str) -> float:
        return _value("vcp_celery_tasks_total", {"task": task, "state": state})

    before = {(t, s): count(t, s) for t in ("tests.ok", "tests.boom", "tests.flaky") for s in metrics.CELERY_STATES}
    ok.apply()
    boom.apply()
    flaky.apply()
    assert count("tests.ok", "success") == before[("tests.ok", "success")] + 1
    assert count("tests.boom", "failure") == before[("tests.boom", "failure")] + 1
    assert count("tests.flaky", "retry") == before[("tests.flaky", "retry")] + 1
    assert count("tests.flaky", "failure") == before[("tests.flaky", "failure")] + 1  # retries exhausted


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_metrics_server_skips_a_busy_port_and_serves_the_registry() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        busy_port = busy.getsockname()[1]
        free_port = _free_port()
        endpoint = metrics.metrics_server_start(ports=[busy_port, free_port], addr="127.0.0.1")
        assert endpoint is not None
        try:
            assert endpoint.port == free_port
            with urllib.request.urlopen(f"http://127.0.0.1:{free_port}/metrics", timeout=5) as response:
                body = response.read().decode()
            assert "# TYPE vcp_predictions_total counter" in body
            assert "process_resident_memory_bytes" in body
        finally:
            endpoint.stop()
        assert metrics.metrics_server_start(ports=[busy_port], addr="127.0.0.1") is None
