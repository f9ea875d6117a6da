"""A staff user logs into admin through nginx over HTTPS, with the production cookie settings.

No Docker: Debian's nginx on loopback (deploy/tls/ensure_nginx.sh installs it when absent), gunicorn
with deploy/gunicorn.conf.py against the test database, DEBUG off, and a self-signed certificate made
by deploy/tls/selfsigned.sh. nginx runs deploy/nginx/vcp-tls.conf and proxy.conf as shipped, with only
the addresses, ports and certificate paths rewritten for loopback.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.contrib.auth import get_user_model

from tests.deploy.conftest import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.slow]
PASSWORD = "tls-admin-Secret-42"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until(check: object, what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=35)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="module")
def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        install = subprocess.run(
            ["sh", str(ROOT / "deploy/tls/ensure_nginx.sh")], capture_output=True, text=True, timeout=600, check=False
        )
        found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
        if found is None:
            pytest.skip(f"nginx is not installed and deploy/tls/ensure_nginx.sh could not install it: {install.stderr}")
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make the test certificate")
    return found


@pytest.fixture
def tls_dir(tmp_path: Path) -> Path:
    subprocess.run(
        ["sh", str(ROOT / "deploy/tls/selfsigned.sh"), str(tmp_path / "tls"), "localhost", "localhost", "127.0.0.1"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return tmp_path / "tls"


def _database_url() -> str:
    db = settings.DATABASES["default"]
    if not db["ENGINE"].endswith("postgresql"):
        pytest.skip("gunicorn in a second process needs a shared database: run with DATABASE_URL=postgres://...")
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def gunicorn(tmp_path: Path) -> Iterator[int]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"}}
    env.update(
        DEBUG="0",
        SECRET_KEY="tls-test-only-" + "x" * 40,
        DATABASE_URL=_database_url(),
        ALLOWED_HOSTS="localhost",
        VCP_BEHIND_PROXY="1",
        VCP_LOG_TO_FILE="0",
        VCP_DATA_DIR=str(tmp_path / "data"),
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS="1",
        GUNICORN_ACCESSLOG="-",
        VCP_WEB_METRICS_PORT="0",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "vcp_platform.wsgi:application"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "gunicorn.log", "wb"),  # noqa: SIM115 - closed with the process
    )
    try:
        _wait_until(
            lambda: requests.get(f"http://127.0.0.1:{port}/api/v1/health", headers={"Host": "localhost"}, timeout=2).ok,
            "gunicorn",
        )
        yield port
    finally:
        _stop(process)


def _render_site(upstream_port: int, http_port: int, https_port: int, tls: Path) -> str:
    site = (ROOT / "deploy/nginx/vcp-tls.conf").read_text()
    replacements = {
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "/etc/nginx/tls/": f"{tls}/",
        # Both upstreams of the site's map (web, and web-batch for /batch_predict) are the test's gunicorn.
        "http://web-batch:8000;": f"http://127.0.0.1:{upstream_port};",
        "http://web:8000;": f"http://127.0.0.1:{upstream_port};",
    }
    for old, new in replacements.items():
        assert old in site, f"deploy/nginx/vcp-tls.conf no longer has {old!r}"
        site = site.replace(old, new)
    return site


@pytest.fixture
def nginx(nginx_binary: str, gunicorn: int, tls_dir: Path, tmp_path: Path) -> Iterator[tuple[int, int]]:
    http_port, https_port = _free_port(), _free_port()
    prefix = tmp_path / "nginx"
    (prefix / "vcp").mkdir(parents=True)
    proxy = (ROOT / "deploy/nginx/proxy.conf").read_text()
    assert "proxy_pass $vcp_upstream;" in proxy
    (prefix / "vcp" / "proxy.conf").write_text(proxy)
    (prefix / "site.conf").write_text(_render_site(gunicorn, http_port, https_port, tls_dir))
    temp = prefix / "temp"
    temp.mkdir()
    user = "user root root;\n" if os.geteuid() == 0 else ""
    (prefix / "nginx.conf").write_text(
        f"{user}daemon off;\nworker_processes 1;\npid {prefix}/nginx.pid;\nerror_log stderr warn;\n"
        "events { worker_connections 64; }\n"
        f"http {{\n  access_log off;\n  client_body_temp_path {temp}/body;\n  proxy_temp_path {temp}/proxy;\n"
        f"  fastcgi_temp_path {temp}/fastcgi;\n  uwsgi_temp_path {temp}/uwsgi;\n  scgi_temp_path {temp}/scgi;\n"
        "  include site.conf;\n}\n"
    )
    test = subprocess.run(
        [nginx_binary, "-t", "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", "stderr"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert test.returncode == 0, test.stderr
    process = subprocess.Popen(
        [nginx_binary, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", "stderr"],
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "nginx.log", "wb"),  # noqa: SIM115 - closed with the process
    )
    try:
        _wait_until(lambda: requests.get(f"http://127.0.0.1:{http_port}/healthz", timeout=2).ok, "nginx", timeout_s=20)
        yield http_port, https_port
    finally:
        _stop(process)


def test_staff_user_logs_into_admin_through_nginx_over_https(
    transactional_db: None, nginx: tuple[int, int], tls_dir: Path
) -> None:
    get_user_model().objects.create_superuser("tls-admin", "tls-admin@example.com", PASSWORD)
    _, https_port = nginx
    base = f"https://localhost:{https_port}"
    browser = requests.Session()
    # Per request: requests lets REQUESTS_CA_BUNDLE override a session-wide `verify`.
    trust = str(tls_dir / "fullchain.pem")

    login_page = browser.get(f"{base}/admin/login/?next=/admin/", verify=trust, timeout=30)
    assert login_page.status_code == 200
    assert login_page.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    csrf_cookie = next(c for c in browser.cookies if c.name == settings.CSRF_COOKIE_NAME)
    assert csrf_cookie.secure, "DEBUG off: the CSRF cookie is Secure, so only HTTPS can carry it"
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page.text)
    assert token is not None

    logged_in = browser.post(
        f"{base}/admin/login/?next=/admin/",
        data={"username": "tls-admin", "password": PASSWORD, "csrfmiddlewaretoken": token.group(1), "next": "/admin/"},
        headers={"Referer": f"{base}/admin/login/", "Origin": base},
        allow_redirects=False,
        verify=trust,
        timeout=30,
    )
    assert logged_in.status_code == 302, logged_in.text[:500]
    assert logged_in.headers["Location"] == "/admin/"
    session_cookie = next(c for c in browser.cookies if c.name == settings.SESSION_COOKIE_NAME)
    assert session_cookie.secure
    assert session_cookie.has_nonstandard_attr("HttpOnly")

    admin = browser.get(f"{base}/admin/", verify=trust, timeout=30)
    assert admin.status_code == 200
    assert admin.url == f"{base}/admin/", "a logged-in staff user stays on the index, not the login page"
    assert 'id="logout-form"' in admin.text
    assert "tls-admin" in admin.text


def test_plain_http_is_redirected_to_https_and_serves_no_metrics(nginx: tuple[int, int], tls_dir: Path) -> None:
    http_port, https_port = nginx
    redirect = requests.get(f"http://localhost:{http_port}/admin/", allow_redirects=False, timeout=10)
    assert redirect.status_code == 301
    assert redirect.headers["Location"] == "https://localhost/admin/"
    metrics = requests.get(f"https://localhost:{https_port}/metrics", verify=str(tls_dir / "fullchain.pem"), timeout=10)
    assert metrics.status_code == 404
