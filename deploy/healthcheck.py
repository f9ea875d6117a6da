"""Container health checks, one per role: ``python deploy/healthcheck.py web|worker|beat|alert-sink``.

Exit 0 when healthy, 1 otherwise, with one line saying why (Docker keeps it in ``docker inspect``).
Each check is cheap enough to run every 15-30 s and loads no Django: a check that imported the whole
platform would cost seconds of CPU and hundreds of MB per run.

- web: ``GET /api/v1/health`` on gunicorn's own port answers 200.
- worker: this container's Celery node answers a ``ping`` through the broker, so the process is
  alive *and* consuming (a worker that lost its broker connection fails).
- beat: PID 1 is ``celery beat`` and not stopped or a zombie, and the broker answers ``PING``
  (beat has no remote-control channel to ask).
- alert-sink: the webhook receiver answers ``GET /healthz``.
"""

from __future__ import annotations

import os
import socket
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path

TIMEOUT_S = 4.0


def _site_host() -> str | None:
    """The first concrete name in ALLOWED_HOSTS: Django answers 400 to a Host it does not allow."""
    for host in os.environ.get("ALLOWED_HOSTS", "").split(","):
        host = host.strip()
        if host and host != "*" and not host.startswith("."):
            return host
    return None


def _http_ok(url: str, host: str | None = None) -> str | None:
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            return None if response.status == 200 else f"{url} answered {response.status}"
    except OSError as exc:
        return f"{url}: {exc}"


def _broker_url() -> str:
    url = os.environ.get("CELERY_BROKER_URL") or os.environ.get("REDIS_URL")
    if not url:
        raise SystemExit("unhealthy: neither CELERY_BROKER_URL nor REDIS_URL is set")
    return url


def web_port() -> str:
    """The port of the first TCP address in GUNICORN_BIND (which may also list unix sockets)."""
    addresses = [a.strip() for a in os.environ.get("GUNICORN_BIND", "0.0.0.0:8000").split(",") if a.strip()]
    tcp = [a for a in addresses if not a.startswith("unix:")]
    return (tcp[0] if tcp else "0.0.0.0:8000").rsplit(":", 1)[-1]


def check_web() -> str | None:
    return _http_ok(f"http://127.0.0.1:{web_port()}/api/v1/health", host=_site_host())


def check_worker() -> str | None:
    from celery import Celery

    node = os.environ.get("CELERY_NODE_NAME") or f"celery@{socket.gethostname()}"
    app = Celery(broker=_broker_url())
    try:
        replies = app.control.ping(destination=[node], timeout=TIMEOUT_S - 1)
    except Exception as exc:  # any broker error means "not healthy", with its reason
        return f"ping {node}: {type(exc).__name__}: {exc}"
    return None if replies else f"{node} did not answer a ping within {TIMEOUT_S - 1:.0f} s"


def check_beat() -> str | None:
    import redis

    cmdline = Path("/proc/1/cmdline").read_bytes().split(b"\0")
    if b"beat" not in cmdline:
        return f"PID 1 is not celery beat: {b' '.join(cmdline).decode(errors='replace')}"
    state = Path("/proc/1/stat").read_text().rsplit(")", 1)[1].split()[0]
    if state in {"Z", "T", "X"}:
        return f"celery beat is in state {state}"
    try:
        redis.Redis.from_url(_broker_url(), socket_timeout=TIMEOUT_S).ping()
    except redis.RedisError as exc:
        return f"broker: {exc}"
    return None


def check_alert_sink() -> str | None:
    return _http_ok(f"http://127.0.0.1:{os.environ.get('ALERT_SINK_PORT', '9099')}/healthz")


CHECKS: dict[str, Callable[[], str | None]] = {
    "web": check_web,
    "worker": check_worker,
    "beat": check_beat,
    "alert-sink": check_alert_sink,
}


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[1] not in CHECKS:
        print(f"usage: healthcheck.py {'|'.join(CHECKS)}", file=sys.stderr)
        return 2
    problem = CHECKS[argv[1]]()
    print(f"unhealthy: {problem}" if problem else "healthy")
    return 1 if problem else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
