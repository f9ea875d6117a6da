"""gunicorn settings for the web process; every value can be overridden from the environment."""

from __future__ import annotations

import os
from typing import Any

# One address, or several separated by commas (make serve: a TCP port for direct calls and a unix
# socket for nginx, which costs nginx and gunicorn less per request than loopback TCP).
bind = [address.strip() for address in os.environ.get("GUNICORN_BIND", "0.0.0.0:8000").split(",") if address.strip()]

# The web processes' database limits (docs/reliability.md): a PostgreSQL that is down or hung answers
# 503 within 5 s. Set before the app is imported, so settings.py reads them; the environment still wins.
# Workers and commands keep no statement limit (training reads run for minutes).
for _name, _value in (
    # Worst case, a hung server: the query deadline (2.5 s) cuts the call, Django then tries a fresh
    # connection, which the connect timeout (2 s) ends: a 503 after 4.5 s.
    ("DB_CONNECT_TIMEOUT", "2"),
    ("DB_STATEMENT_TIMEOUT_MS", "2000"),
    ("DB_LOCK_TIMEOUT_MS", "1000"),
    ("VCP_DB_QUERY_DEADLINE_SECONDS", "2.5"),
):
    os.environ.setdefault(_name, _value)
# Sync workers: the hot path is CPU-bound ONNX scoring with intra-op threads = 1, so one request
# per worker and one worker per core is the measured sweet spot (docs/architecture.md).
workers = int(os.environ.get("GUNICORN_WORKERS", str(os.cpu_count() or 2)))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# A leak guard, not a routine: at 20,000 each worker restarted every ~40 s at 1,900 req/s, and every
# restart cost a warm-up (post_worker_init) and a second of a worker's capacity.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "500000"))
max_requests_jitter = 2000
# "off" when a proxy in front already logs every request (nginx in make serve and compose, the Ingress
# in k8s): gunicorn's access line costed 15% of a /predict worker's Python time (docs/performance.md).
_accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-")
accesslog = None if _accesslog.lower() in {"", "off", "none", "0"} else _accesslog
errorlog = "-"
# The master imports the app once and the workers fork from it: on 2 cores, N workers importing (and,
# in the image, compiling) Django, pandas, scipy and the URLconf side by side took 77 s to answer the
# first health check; one import in the master, warmed in when_ready, is what makes a container
# ready in seconds (docs/deployment.md). GUNICORN_PRELOAD=0 restores per-worker imports.
preload_app = os.environ.get("GUNICORN_PRELOAD", "1") != "0"

# Each worker serves its own registry on the first free port from VCP_WEB_METRICS_PORT (9101), on
# VCP_METRICS_ADDR (127.0.0.1 unless set: containers set 0.0.0.0 so Prometheus can reach it), and
# Prometheus scrapes every port (deploy/prometheus/prometheus.yml). prometheus_client's multiprocess
# mode is not used: it cannot export the Info metric or per-process CPU, memory and descriptors.
# 0 turns the per-worker ports off (the main port's /metrics then shows one random worker).
metrics_port = int(os.environ.get("VCP_WEB_METRICS_PORT", "9101"))
metrics_addr = os.environ.get("VCP_METRICS_ADDR", "127.0.0.1")


def when_ready(server: Any) -> None:
    """With preload, load the URLconf (admin, views, their imports) before the workers fork, and
    leave no database connection open in the master for the workers to share."""
    if not preload_app:
        return
    from django.db import connections
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - the import is the point
    connections.close_all()


def post_worker_init(worker: Any) -> None:
    """Load the model, the instruments and the latest session's predictions before the first request
    (predictions/warmup.py): a fresh worker's first requests would otherwise pay for them."""
    if os.environ.get("VCP_WEB_WARMUP", "1") == "0":
        return
    from predictions.warmup import serving_warm

    timings = serving_warm()
    worker.log.info("serving state warmed: %s", ", ".join(f"{k} {v:.2f} s" for k, v in timings.items()) or "nothing")


def post_fork(server: Any, worker: Any) -> None:
    if not metrics_port:
        return
    from common.metrics import metrics_server_start

    metrics_server_start(ports=range(metrics_port, metrics_port + workers + 8), addr=metrics_addr)
