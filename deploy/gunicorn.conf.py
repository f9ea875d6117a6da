"""gunicorn settings for the web process; every value can be overridden from the environment."""

from __future__ import annotations

import os

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
# Each worker exports its own metrics; prometheus_client's multiprocess mode is not needed when
# workers are scraped through the django-prometheus per-worker port range (see deploy/prometheus).
