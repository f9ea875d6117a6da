"""gunicorn settings for the web process; every value can be overridden from the environment."""

from __future__ import annotations

import os
from typing import Any

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# Sync workers: the hot path is CPU-bound ONNX scoring with intra-op threads = 1, so one request
# per worker and one worker per core is the measured sweet spot (docs/architecture.md).
workers = int(os.environ.get("GUNICORN_WORKERS", str(os.cpu_count() or 2)))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "20000"))
max_requests_jitter = 2000
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-")
errorlog = "-"

# Each worker serves its own registry on the first free port from VCP_WEB_METRICS_PORT (9101), and
# Prometheus scrapes every port (deploy/prometheus/prometheus.yml). prometheus_client's multiprocess
# mode is not used: it cannot export the Info metric or per-process CPU, memory and descriptors.
# 0 turns the per-worker ports off (the main port's /metrics then shows one random worker).
metrics_port = int(os.environ.get("VCP_WEB_METRICS_PORT", "9101"))


def post_fork(server: Any, worker: Any) -> None:
    if not metrics_port:
        return
    from common.metrics import metrics_server_start

    metrics_server_start(ports=range(metrics_port, metrics_port + workers + 8))
