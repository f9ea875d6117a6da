"""deploy/gunicorn.conf.py's access-log switch: behind a proxy that logs every request, gunicorn writes none."""

from __future__ import annotations

import os
import runpy
from pathlib import Path

import pytest

CONF = Path(__file__).resolve().parents[2] / "deploy" / "gunicorn.conf.py"


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
