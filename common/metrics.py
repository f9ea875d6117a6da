"""The platform's Prometheus event collectors, the per-process metrics server and its scrape-time hook.

Every collector lives in prometheus_client's default registry, next to django-prometheus's
``django_http_*`` metrics and the process collector's ``process_*`` metrics (CPU seconds, resident
memory, open file descriptors), and carries the ``vcp_`` prefix. Durations are seconds, times are
Unix seconds. No Django imports: Celery workers and benchmarks use this module too.

Two kinds of metric
    *Events* (prediction latency, predictions, cache lookups, batch runs, Celery task outcomes) are
    recorded here by the process where they happen and summed across processes in PromQL.
    *State* (drift, model quality, alerts: ``monitoring.metrics``) is what the database says; it is
    reloaded at scrape time through ``state_source_register``, so the figures do not depend on which
    process ran a check.

One scrape target per process
    A gunicorn worker or a Celery pool process has its own registry, so each one serves its own
    metrics port (``metrics_server_start`` from gunicorn's ``post_fork`` and from
    ``connect_celery_signals(metrics_ports=...)``) and Prometheus scrapes every port. This keeps the
    Info metric and the per-process CPU/memory/fd figures, which prometheus_client's multiprocess
    mode cannot export.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from wsgiref.simple_server import WSGIServer

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, start_http_server
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

PREDICTION_OUTCOMES = ("positive", "negative", "error")
CACHE_TIERS = ("local", "redis")
CACHE_KINDS = ("features", "prediction")
BATCH_STATUSES = ("success", "skipped", "failure")  # "skipped": a holiday, nothing to score, still a heartbeat
CELERY_STATES = ("success", "failure", "retry")

# The /predict budget is a few milliseconds (docs/architecture.md), so the buckets are dense from
# 0.5 ms to 100 ms and coarse beyond.
PREDICTION_LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.002,
    0.003,
    0.005,
    0.0075,
    0.01,
    0.015,
    0.02,
    0.03,
    0.05,
    0.075,
    0.1,
    0.25,
    1.0,
)
BATCH_DURATION_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0)


class _StateRefresher(Collector):
    """Reloads the state gauges from a source just before they are collected.

    Registered before any state gauge exists (this module is imported first), so the registry
    collects it first in every scrape. The refresh runs at most once per ``ttl_seconds``; a failing
    refresh keeps the previous values and counts an error instead of breaking /metrics."""

    def __init__(self) -> None:
        self.refresh: Callable[[], None] | None = None
        self.ttl_seconds = 30.0
        self.loaded_at = -float("inf")
        self._lock = threading.Lock()

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterable[Metric]:
        refresh = self.refresh
        if refresh is None or time.monotonic() - self.loaded_at < self.ttl_seconds:
            return []
        if not self._lock.acquire(blocking=False):  # another scrape is already refreshing
            return []
        try:
            refresh()
        except Exception:
            STATE_REFRESH_ERRORS.inc()
            logger.exception("monitoring state source failed; /metrics keeps the previous state")
        finally:
            self.loaded_at = time.monotonic()
            self._lock.release()
        return []


_STATE_REFRESHER = _StateRefresher()
REGISTRY.register(_STATE_REFRESHER)

# --- events --------------------------------------------------------------------------------------
PREDICTION_LATENCY = Histogram(
    "vcp_prediction_latency_seconds",
    "Time to serve one prediction request, by API endpoint.",
    ["endpoint"],
    buckets=PREDICTION_LATENCY_BUCKETS,
)
PREDICTIONS = Counter(
    "vcp_predictions",
    "Predictions served, by model version and outcome (positive, negative, error).",
    ["model_version", "outcome"],
)
CACHE_LOOKUPS = Counter(
    "vcp_cache_lookups",
    "Cache lookups by tier (local, redis), kind (features, prediction) and result (hit, miss).",
    ["tier", "kind", "result"],
)
BATCH_RUN_DURATION = Histogram(
    "vcp_batch_run_duration_seconds",
    "Wall time of one universe scoring run, by status.",
    ["status"],
    buckets=BATCH_DURATION_BUCKETS,
)
BATCH_RUNS = Counter("vcp_batch_runs", "Universe scoring runs by status (success, skipped, failure).", ["status"])
BATCH_ROWS = Counter("vcp_batch_rows_scored", "Stock rows scored by universe scoring runs.")
CELERY_TASKS = Counter(
    "vcp_celery_tasks", "Celery task outcomes by task name and state (success, failure, retry).", ["task", "state"]
)
STATE_REFRESH_ERRORS = Counter("vcp_state_refresh_errors", "Failed loads of the monitoring state at scrape time.")
ARTIFACT_INTEGRITY_FAILURES = Counter(
    "vcp_artifact_integrity_failures",
    "Model versions this process refused because a stored artifact no longer matched its recorded sha256.",
    ["model_version"],
)

BATCH_LAST_SUCCESS = Gauge(
    "vcp_batch_last_success_timestamp_seconds", "When the last successful (or holiday-skipped) scoring run finished."
)

# Label children cached per label tuple: prometheus_client's .labels() validates and locks on every
# call, which is most of the cost of an observation on the hot path.
_prediction_children: dict[tuple[str, str, str], tuple[Any, Any]] = {}
_cache_children: dict[tuple[str, str, bool], Any] = {}


def _prediction_pair(key: tuple[str, str, str]) -> tuple[Any, Any]:
    endpoint, model_version, outcome = key
    if outcome not in PREDICTION_OUTCOMES:
        raise ValueError(f"outcome must be one of {PREDICTION_OUTCOMES}, got {outcome!r}")
    pair = (PREDICTION_LATENCY.labels(endpoint), PREDICTIONS.labels(model_version, outcome))
    _prediction_children[key] = pair
    return pair


def observe_prediction(*, endpoint: str, model_version: str, outcome: str, seconds: float) -> None:
    """One served prediction: its latency by endpoint, its count by model version and outcome."""
    key = (endpoint, model_version, outcome)
    latency, count = _prediction_children.get(key) or _prediction_pair(key)
    latency.observe(seconds)
    count.inc()


def _cache_child(key: tuple[str, str, bool]) -> Any:
    tier, kind, hit = key
    if tier not in CACHE_TIERS or kind not in CACHE_KINDS:
        raise ValueError(f"cache tier must be one of {CACHE_TIERS} and kind one of {CACHE_KINDS}")
    child = CACHE_LOOKUPS.labels(tier, kind, "hit" if hit else "miss")
    _cache_children[key] = child
    return child


def observe_cache(*, tier: str, kind: str, hit: bool) -> None:
    """One cache lookup in ``tier`` (local, redis) for ``kind`` (features, prediction)."""
    key = (tier, kind, hit)
    (_cache_children.get(key) or _cache_child(key)).inc()


def observe_batch_run(*, status: str, seconds: float, rows: int, finished_at: float | None = None) -> None:
    """One finished universe scoring run; success and skipped runs also refresh the heartbeat."""
    if status not in BATCH_STATUSES:
        raise ValueError(f"batch status must be one of {BATCH_STATUSES}, got {status!r}")
    BATCH_RUN_DURATION.labels(status).observe(seconds)
    BATCH_RUNS.labels(status).inc()
    BATCH_ROWS.inc(rows)
    if status != "failure":
        BATCH_LAST_SUCCESS.set(time.time() if finished_at is None else finished_at)


def observe_celery_task(*, task: str, state: str) -> None:
    if state not in CELERY_STATES:
        raise ValueError(f"celery state must be one of {CELERY_STATES}, got {state!r}")
    CELERY_TASKS.labels(task, state).inc()


def state_source_register(*, refresh: Callable[[], None] | None, ttl_seconds: float = 30.0) -> None:
    """Run ``refresh()`` at scrape time, at most once per ``ttl_seconds``, before the gauges are read.

    ``refresh`` runs in the scraping thread (a Django request for /metrics, or the exporter's own
    thread), so a database-reading one should close its connection when it is not inside a request.
    ``None`` unregisters the source."""
    _STATE_REFRESHER.refresh = refresh
    _STATE_REFRESHER.ttl_seconds = ttl_seconds
    _STATE_REFRESHER.loaded_at = -float("inf")


@dataclass(frozen=True)
class MetricsEndpoint:
    port: int
    server: WSGIServer
    thread: threading.Thread

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def observe_artifact_integrity_failure(*, model_version: str) -> None:
    ARTIFACT_INTEGRITY_FAILURES.labels(model_version).inc()


# Loopback unless the deployment says otherwise: the per-process metrics ports have no
# authentication, so they are reachable from outside the host only where a container network or a
# pod needs it (docker-compose.yml and deploy/k8s set VCP_METRICS_ADDR=0.0.0.0 inside the container).
METRICS_ADDR_ENV = "VCP_METRICS_ADDR"
DEFAULT_METRICS_ADDR = "127.0.0.1"


def metrics_addr() -> str:
    return os.environ.get(METRICS_ADDR_ENV, "").strip() or DEFAULT_METRICS_ADDR


def metrics_server_start(*, ports: Iterable[int], addr: str | None = None) -> MetricsEndpoint | None:
    """Serve this process's metrics on the first free port of ``ports``; None when all are taken.

    ``addr`` defaults to ``VCP_METRICS_ADDR`` (127.0.0.1 when unset)."""
    addr = addr or metrics_addr()
    for port in ports:
        try:
            server, thread = start_http_server(port, addr=addr)
        except OSError:
            continue
        logger.info("serving Prometheus metrics", extra={"port": port, "addr": addr})
        return MetricsEndpoint(port=port, server=server, thread=thread)
    logger.warning("no free port for the Prometheus metrics endpoint")
    return None


def _task_name(sender: Any) -> str:
    return str(getattr(sender, "name", None) or sender or "unknown")


def _on_task_success(sender: Any = None, **_: Any) -> None:
    observe_celery_task(task=_task_name(sender), state="success")


def _on_task_failure(sender: Any = None, **_: Any) -> None:
    observe_celery_task(task=_task_name(sender), state="failure")


def _on_task_retry(sender: Any = None, **_: Any) -> None:
    observe_celery_task(task=_task_name(sender), state="retry")


_metrics_endpoint: list[MetricsEndpoint] = []


def connect_celery_signals(*, metrics_ports: Iterable[int] = ()) -> None:
    """Count Celery task outcomes (task_success, task_failure, task_retry) into ``vcp_celery_tasks_total``.

    With ``metrics_ports``, every worker process (the main one on worker_ready, each prefork child on
    worker_process_init) also serves its metrics on the first free port of the range: give one
    port per pool process plus one. Idempotent."""
    from celery import signals

    signals.task_success.connect(_on_task_success, weak=False, dispatch_uid="vcp-metrics-task-success")
    signals.task_failure.connect(_on_task_failure, weak=False, dispatch_uid="vcp-metrics-task-failure")
    signals.task_retry.connect(_on_task_retry, weak=False, dispatch_uid="vcp-metrics-task-retry")
    port_list = list(metrics_ports)
    if not port_list:
        return

    def serve(**_: Any) -> None:
        if not _metrics_endpoint:
            endpoint = metrics_server_start(ports=port_list)
            if endpoint is not None:
                _metrics_endpoint.append(endpoint)

    def forget_parent_endpoint(**_: Any) -> None:
        # A forked child inherits the parent's bookkeeping but not its server thread.
        _metrics_endpoint.clear()
        serve()

    signals.worker_ready.connect(serve, weak=False, dispatch_uid="vcp-metrics-serve-main")
    signals.worker_process_init.connect(forget_parent_endpoint, weak=False, dispatch_uid="vcp-metrics-serve-child")


def exported_metric_names(registry: Any = REGISTRY) -> Iterator[str]:
    """Every sample name ``registry`` can export (``_total``, ``_bucket``, ``_info``... included),
    whether or not a labelled child exists yet: what a PromQL expression may reference."""
    suffixes = {
        "counter": ("_total", "_created"),
        "histogram": ("_bucket", "_count", "_sum", "_created"),
        "summary": ("", "_count", "_sum", "_created"),
        "info": ("_info",),
        "gaugehistogram": ("_bucket", "_gcount", "_gsum"),
        "stateset": ("",),
        "gauge": ("",),
        "unknown": ("",),
    }
    for family in registry.collect():
        for suffix in suffixes.get(family.type, ("",)):
            yield family.name + suffix
        for sample in family.samples:
            yield sample.name


# Known label sets start at zero, so ratios and increase() have a series from the first scrape.
for _tier in CACHE_TIERS:
    for _kind in CACHE_KINDS:
        for _hit in (True, False):
            _cache_child((_tier, _kind, _hit))
for _status in BATCH_STATUSES:
    BATCH_RUNS.labels(_status)
