"""Browser-side and account security: CSP, offline API docs, `check --deploy`, admin lockout, SMTP settings."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]


def _run(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "CELERY_BROKER_URL", "SECRET_KEY", "DEBUG"}
    }
    environment.update(DJANGO_SETTINGS_MODULE="vcp_platform.settings", VCP_LOG_TO_FILE="0", **env)
    return subprocess.run(
        [sys.executable, *code.split()] if code.startswith("manage.py") else [sys.executable, "-c", code],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "vcp.example.com",
    "VCP_BEHIND_PROXY": "1",
}


@pytest.mark.slow
def test_check_deploy_is_clean_in_the_production_configuration() -> None:
    result = _run("manage.py check --deploy --fail-level WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.slow
def test_without_a_proxy_check_deploy_still_asks_for_hsts_and_the_redirect() -> None:
    result = _run("manage.py check --deploy", **{**PRODUCTION, "VCP_BEHIND_PROXY": "0"})
    assert "security.W004" in result.stdout + result.stderr
    assert "security.W008" in result.stdout + result.stderr
    enabled = _run(
        "manage.py check --deploy --fail-level WARNING",
        **{
            **PRODUCTION,
            "VCP_BEHIND_PROXY": "0",
            "SECURE_SSL_REDIRECT": "1",
            "SECURE_HSTS_SECONDS": "31536000",
            "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
            "SECURE_HSTS_PRELOAD": "1",
        },
    )
    assert enabled.returncode == 0, enabled.stdout + enabled.stderr


@pytest.mark.slow
def test_smtp_settings_come_from_the_environment_and_tls_with_ssl_is_refused() -> None:
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.EMAIL_HOST, s.EMAIL_PORT, repr(s.EMAIL_HOST_USER), s.EMAIL_USE_TLS, s.EMAIL_USE_SSL, "
        "s.EMAIL_TIMEOUT, s.SERVER_EMAIL)"
    )
    defaults = _run(code, DEBUG="1")
    assert defaults.stdout.split() == ["localhost", "25", "''", "False", "False", "10", "vcp-platform@localhost"]
    both = _run(code, DEBUG="1", EMAIL_USE_TLS="1", EMAIL_USE_SSL="1")
    assert both.returncode != 0
    assert "EMAIL_USE_TLS and EMAIL_USE_SSL" in both.stderr


@pytest.mark.django_db
def test_pages_carry_a_content_security_policy_without_third_party_sources(client: Client) -> None:
    response = client.get("/admin/login/")
    policy = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["default-src"] == "'self'"
    assert directives["script-src"].startswith("'self'")
    assert "unsafe-inline" not in directives["script-src"]
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'self'"
    assert not re.search(r"https?://", policy)
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_the_api_docs_load_their_scripts_from_this_host_pinned_with_the_package(client: Client, path: str) -> None:
    page = client.get(path).content.decode()
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', page) + re.findall(r'href="([^"]+)"', page)
    assert scripts
    for url in scripts:
        assert not url.startswith(("http://", "https://", "//")), url
    assert "@latest" not in page
    assert "cdn." not in page
    assert "<script>" not in page  # no inline script: the CSP would block it
    if path == "/api/docs/":
        init = client.get("/api/docs/?script")
        assert init.status_code == 200
        assert "SwaggerUIBundle" in init.content.decode()


@pytest.mark.django_db
def test_the_admin_login_locks_out_after_five_wrong_passwords_even_for_the_right_one(client: Client) -> None:
    get_user_model().objects.create_user("ops", password="the-right-password-42", is_staff=True)
    for _ in range(5):
        client.post("/admin/login/", {"username": "ops", "password": "wrong"})
    locked = client.post("/admin/login/", {"username": "ops", "password": "the-right-password-42"})
    assert locked.status_code == 429
    other = Client()  # another username from the same address is not locked out
    get_user_model().objects.create_user("quant", password="another-password-42", is_staff=True)
    assert other.post("/admin/login/", {"username": "quant", "password": "another-password-42"}).status_code == 302


def test_metrics_servers_listen_on_loopback_unless_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    from common import metrics

    monkeypatch.delenv("VCP_METRICS_ADDR", raising=False)
    assert metrics.metrics_addr() == "127.0.0.1"
    endpoint = metrics.metrics_server_start(ports=range(19500, 19520))
    assert endpoint is not None
    try:
        assert endpoint.server.server_address[0] == "127.0.0.1"
    finally:
        endpoint.stop()
    monkeypatch.setenv("VCP_METRICS_ADDR", "0.0.0.0")
    assert metrics.metrics_addr() == "0.0.0.0"
    gunicorn_conf = (ROOT / "deploy" / "gunicorn.conf.py").read_text()
    assert 'os.environ.get("VCP_METRICS_ADDR", "127.0.0.1")' in gunicorn_conf
