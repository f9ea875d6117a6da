"""deploy/gunicorn.conf.py's access-log switch: behind a proxy that logs every request, gunicorn writes none."""

from __future__ import annotations

import os
import runpy
from pathlib import Path

import pytest

CONF = Path(__file__).resolve().parents[2] / "deploy" / "gunicorn.conf.py"
# The conf fills these in with setdefault: set through monkeypatch, they are undone after each test.
DB_LIMITS = ("DB_CONNECT_TIMEOUT", "DB_STATEMENT_TIMEOUT_MS", "DB_LOCK_TIMEOUT_MS", "VCP_DB_QUERY_DEADLINE_SECONDS")


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, "-"), ("off", None), ("OFF", None), ("", None), ("none", None), ("/var/log/a.log", "/var/log/a.log")],
)
def test_gunicorn_accesslog_can_be_turned_off(
    monkeypatch: pytest.MonkeyPatch, value: str | None, expected: str | None
) -> None:
    if value is None:
        monkeypatch.delenv("GUNICORN_ACCESSLOG", raising=False)
    else:
        monkeypatch.setenv("GUNICORN_ACCESSLOG", value)
    for name in (
        "DB_CONNECT_TIMEOUT",
        "DB_STATEMENT_TIMEOUT_MS",
        "DB_LOCK_TIMEOUT_MS",
        "VCP_DB_QUERY_DEADLINE_SECONDS",
    ):
        # The conf fills these in with setdefault: set through monkeypatch, they are undone after the test.
        monkeypatch.setenv(name, os.environ.get(name, "1"))
    assert runpy.run_path(str(CONF))["accesslog"] == expected


def test_every_proxied_topology_turns_gunicorn_access_logs_off() -> None:
    root = CONF.parents[1]
    assert 'GUNICORN_ACCESSLOG: "off"' in (root / "docker-compose.yml").read_text()
    assert 'GUNICORN_ACCESSLOG: "off"' in (root / "deploy" / "k8s" / "configmap.yaml").read_text()
    assert "WEB_ACCESSLOG=off" in (root / "scripts" / "serve.sh").read_text()


def test_gunicorn_binds_every_address_of_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in DB_LIMITS:
        monkeypatch.setenv(name, os.environ.get(name, "1"))
    monkeypatch.setenv("GUNICORN_BIND", "127.0.0.1:8101, unix:/tmp/web-1.sock")
    assert runpy.run_path(str(CONF))["bind"] == ["127.0.0.1:8101", "unix:/tmp/web-1.sock"]
    monkeypatch.delenv("GUNICORN_BIND")
    assert runpy.run_path(str(CONF))["bind"] == ["0.0.0.0:8000"]
    serve = (CONF.parents[1] / "scripts" / "serve.sh").read_text()
    nginx = (CONF.parent / "nginx" / "serve.conf").read_text()
    assert 'unix:$STATE/web-$n.sock"' in serve
    assert "server unix:@STATE@/web-1.sock" in nginx
    assert "server unix:@STATE@/web-2.sock" in nginx


def test_the_web_health_check_finds_the_tcp_port_among_the_bind_addresses(monkeypatch: pytest.MonkeyPatch) -> None:
    healthcheck = runpy.run_path(str(CONF.parent / "healthcheck.py"), run_name="healthcheck")
    monkeypatch.setenv("GUNICORN_BIND", "unix:/tmp/web-1.sock, 127.0.0.1:8101")
    assert healthcheck["web_port"]() == "8101"
    monkeypatch.setenv("GUNICORN_BIND", "0.0.0.0:8000")
    assert healthcheck["web_port"]() == "8000"
    monkeypatch.delenv("GUNICORN_BIND")
    assert healthcheck["web_port"]() == "8000"
