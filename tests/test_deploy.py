"""The deployment files agree with the code (no Docker engine here, so check what can be checked)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings
from django.urls import resolve

ROOT = Path(__file__).resolve().parents[1]
APP_SERVICES = ("migrate", "web", "worker", "beat")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _settings_source() -> str:
    return "\n".join(p.read_text() for p in (ROOT / "vcp_platform").glob("*.py"))


def test_compose_has_the_whole_stack_and_app_services_share_one_image(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) >= {"db", "redis", *APP_SERVICES, "nginx", "prometheus", "grafana"}
    for name in APP_SERVICES:
        assert services[name]["image"] == "vcp-platform:latest"
        assert services[name]["environment"]["DATABASE_URL"].startswith("postgres://")
        assert services[name]["volumes"] == ["vcp-data:/data"]
        # Directly on a healthy database, or on the migration that itself waits for one.
        waits = services[name]["depends_on"]
        assert waits.get("db", {}).get("condition") == "service_healthy" or (
            waits["migrate"]["condition"] == "service_completed_successfully"
        )
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"


def test_every_environment_variable_compose_sets_is_read_by_the_settings(compose: dict[str, Any]) -> None:
    source = _settings_source()
    for name in compose["services"]["web"]["environment"]:
        assert f'"{name}"' in source, f"docker-compose sets {name}, which vcp_platform/ never reads"


def test_compose_secrets_come_from_env_and_env_example_lists_them(compose: dict[str, Any]) -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    required = set(re.findall(r"\$\{([A-Z_]+):\?", text))
    example = {line.split("=", 1)[0] for line in (ROOT / ".env.example").read_text().splitlines() if "=" in line}
    assert required <= example
    assert "SECRET_KEY" in example
    assert not re.search(r"SECRET_KEY:\s*\S", text), "no secret value may be written into docker-compose.yml"


def test_commands_point_at_entry_points_that_exist(compose: dict[str, Any]) -> None:
    services = compose["services"]
    web = services["web"]["command"]
    assert web[:3] == ["gunicorn", "-c", "deploy/gunicorn.conf.py"]
    assert (ROOT / web[2]).is_file()
    module, attr = web[3].split(":")
    assert (ROOT / (module.replace(".", "/") + ".py")).is_file()
    assert attr == "application"
    worker = services["worker"]["command"]
    assert worker[:4] == ["celery", "-A", "vcp_platform", "worker"]
    assert worker[worker.index("-Q") + 1] == settings.CELERY_TASK_DEFAULT_QUEUE
    assert services["beat"]["command"][:4] == ["celery", "-A", "vcp_platform", "beat"]
    assert "migrate --noinput" in services["migrate"]["command"][-1]


def test_prometheus_scrapes_the_metrics_ports_the_processes_serve(compose: dict[str, Any]) -> None:
    prometheus = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    jobs = {job["job_name"]: job["static_configs"][0]["targets"] for job in prometheus["scrape_configs"]}
    gunicorn = (ROOT / "deploy/gunicorn.conf.py").read_text()
    web_port = int(re.search(r'VCP_WEB_METRICS_PORT", "(\d+)"', gunicorn).group(1))  # type: ignore[union-attr]
    assert jobs["vcp-web"][0] == f"web:{web_port}"
    assert jobs["vcp-worker"][0] == f"worker:{settings.VCP_CELERY_METRICS_PORT}"
    worker = compose["services"]["worker"]["command"]
    concurrency = int(next(a for a in worker if a.startswith("--concurrency=")).split("=")[1])
    assert len(jobs["vcp-worker"]) == concurrency + 1  # the pool processes and the main process
    assert (ROOT / "deploy/prometheus/alerts.yml").is_file()
    assert prometheus["rule_files"] == ["alerts.yml"]


def test_grafana_and_nginx_mounts_exist(compose: dict[str, Any]) -> None:
    for service in ("grafana", "prometheus", "nginx"):
        for volume in compose["services"][service]["volumes"]:
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{service} mounts {source}, which does not exist"
    nginx = (ROOT / "deploy/nginx/vcp.conf").read_text()
    assert "server web:8000;" in nginx
    assert "location = /metrics { return 404; }" in nginx
    assert "X-Request-ID" in nginx


def test_dockerfile_installs_pinned_production_requirements_and_checks_health() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in dockerfile
    assert "pip install -r /tmp/requirements/prod.txt" in dockerfile
    assert "USER vcp" in dockerfile
    health = re.search(r"http://127\.0\.0\.1:8000(/[^']+)'", dockerfile)
    assert health is not None
    assert resolve(health.group(1)).url_name is not None
    for line in (ROOT / "requirements/base.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            assert "==" in line, f"requirements/base.txt: {line!r} is not pinned"
    assert "xgboost-cpu==" in (ROOT / "requirements/base.txt").read_text()
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", "var", ".env", "*.parquet"} <= set(ignored)
