"""docker-compose.yml, its offline override, Prometheus and Alertmanager agree with the code.

Parsing only: `make test` never needs Docker. scripts/compose_smoke.sh (`make deploy-smoke`) runs the
stack for real.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from check_jsonschema.builtin_schemas import get_builtin_schema
from django.conf import settings
from django.urls import resolve
from jsonschema import Draft7Validator

from tests.deploy.conftest import ROOT

APP_SERVICES = ("migrate", "web", "web-batch", "worker", "beat")
ALL_SERVICES = ("db", "redis", *APP_SERVICES, "nginx", "prometheus", "alertmanager", "alert-sink", "grafana")


def _seconds(value: str) -> float:
    match = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", value)
    assert value, "an empty duration"
    assert match is not None, f"not a duration: {value!r}"
    return int(match.group(1) or 0) * 60 + int(match.group(2) or 0)


def test_compose_files_match_the_compose_specification(compose: dict[str, Any]) -> None:
    validator = Draft7Validator(get_builtin_schema("vendor.compose-spec"))
    for document in (compose, yaml.safe_load((ROOT / "deploy/compose.offline.yml").read_text())):
        errors = sorted(validator.iter_errors(document), key=str)
        assert not errors, [e.message for e in errors]


def test_compose_has_the_whole_stack_and_app_services_share_one_image(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) >= set(ALL_SERVICES)
    for name in APP_SERVICES:
        assert services[name]["image"] == "vcp-platform:latest"
        assert services[name]["build"]["target"] == "full"
        assert services[name]["environment"]["DATABASE_URL"].startswith("postgres://")
        assert services[name]["volumes"] == ["vcp-data:/data", "pycache:/tmp/pycache"]
        waits = services[name]["depends_on"]
        assert waits.get("db", {}).get("condition") == "service_healthy" or (
            waits["migrate"]["condition"] == "service_completed_successfully"
        )
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"


def test_web_runs_two_replicas_behind_nginx(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["web"]["scale"] == 2
    assert "ports" not in services["web"], "web is reached through nginx only"
    assert services["nginx"]["depends_on"]["web"]["condition"] == "service_healthy"
    proxy = (ROOT / "deploy/nginx/proxy.conf").read_text()
    # Resolved per request through Docker's DNS, so every replica (and a restarted one) is reached.
    assert "proxy_pass $vcp_upstream;" in proxy
    for site in ("vcp.conf", "vcp-tls.conf"):
        text = (ROOT / "deploy/nginx" / site).read_text()
        assert "resolver 127.0.0.11" in text
        assert re.search(
            r"map \$uri \$vcp_upstream \{\s+/api/v1/batch_predict http://web-batch:8000;\s+default\s+http://web:8000;",
            text,
        )


def test_batch_predict_has_its_own_gunicorn_with_a_lower_cpu_weight(compose: dict[str, Any]) -> None:
    services = compose["services"]
    batch, web = services["web-batch"], services["web"]
    assert batch["command"] == web["command"]
    assert batch["environment"]["GUNICORN_WORKERS"] == "1"
    assert batch["cpu_shares"] < 1024  # Docker's default weight, which web keeps
    assert "cpu_shares" not in web
    assert int(batch["environment"]["DB_STATEMENT_TIMEOUT_MS"]) > 2000  # web's limit (gunicorn.conf.py)
    assert services["nginx"]["depends_on"]["web-batch"]["condition"] == "service_healthy"


def test_every_service_has_its_own_health_check_grace_period_and_restart_policy(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        assert "stop_grace_period" in service, name
        assert "restart" in service, name
        assert "healthcheck" in service, name
    # The one-shot job's health is its exit status, which the app services wait for.
    assert compose["services"]["migrate"]["healthcheck"] == {"disable": True}
    for role in ("web", "worker", "beat"):
        assert compose["services"][role]["healthcheck"]["test"] == ["CMD", "python", "deploy/healthcheck.py", role]


def test_grace_periods_outlast_gunicorn_and_the_worker_soft_shutdown(compose: dict[str, Any]) -> None:
    services = compose["services"]
    gunicorn = (ROOT / "deploy/gunicorn.conf.py").read_text()
    graceful = int(re.search(r"graceful_timeout = (\d+)", gunicorn).group(1))  # type: ignore[union-attr]
    assert _seconds(services["web"]["stop_grace_period"]) > graceful
    worker = services["worker"]
    soft = float(next(a for a in worker["command"] if a.startswith("worker.soft_shutdown_timeout=")).split("=")[1])
    assert worker["environment"]["REMAP_SIGTERM"] == "SIGQUIT", "SIGTERM must start the soft (requeueing) shutdown"
    assert _seconds(worker["stop_grace_period"]) > soft + 10


def test_every_environment_variable_compose_sets_is_read_by_the_code(compose: dict[str, Any]) -> None:
    readers = [*(ROOT / "vcp_platform").glob("*.py"), ROOT / "deploy/gunicorn.conf.py"]
    source = "\n".join(p.read_text() for p in readers)
    celery_env = {"REMAP_SIGTERM"}  # read by Celery itself (celery.apps.worker)
    for name in ("web", "worker"):
        for variable in compose["services"][name]["environment"]:
            assert variable in celery_env or f'"{variable}"' in source, f"compose sets {variable}, which nothing reads"


def test_compose_secrets_come_from_env_and_env_example_lists_them(compose: dict[str, Any]) -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    required = set(re.findall(r"\$\{([A-Z_]+):\?", text))
    example = {line.split("=", 1)[0] for line in (ROOT / ".env.example").read_text().splitlines() if "=" in line}
    assert required <= example
    assert "SECRET_KEY" in example
    assert not re.search(r"SECRET_KEY:\s*\S", text), "no secret value may be written into docker-compose.yml"


def test_monitoring_ports_are_published_on_loopback_only(compose: dict[str, Any]) -> None:
    for name in ("prometheus", "alertmanager", "grafana"):
        for port in compose["services"][name]["ports"]:
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port}: it has no authentication"


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
    assert (ROOT / services["alert-sink"]["command"][1]).is_file()


def _dns_targets(job: dict[str, Any]) -> list[tuple[str, int]]:
    return [(name, sd["port"]) for sd in job["dns_sd_configs"] for name in sd["names"]]


def test_prometheus_discovers_every_process_of_every_replica_by_dns(compose: dict[str, Any]) -> None:
    prometheus = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in prometheus["scrape_configs"]}
    web_env = compose["services"]["web"]["environment"]
    gunicorn = (ROOT / "deploy/gunicorn.conf.py").read_text()
    web_port = int(re.search(r'VCP_WEB_METRICS_PORT", "(\d+)"', gunicorn).group(1))  # type: ignore[union-attr]
    workers = int(web_env["GUNICORN_WORKERS"])
    batch_workers = int(compose["services"]["web-batch"]["environment"]["GUNICORN_WORKERS"])
    assert _dns_targets(jobs["vcp-web"]) == [("web", web_port + i) for i in range(workers)] + [
        ("web-batch", web_port + i) for i in range(batch_workers)
    ]
    worker = compose["services"]["worker"]["command"]
    concurrency = int(next(a for a in worker if a.startswith("--concurrency=")).split("=")[1])
    first = settings.VCP_CELERY_METRICS_PORT
    # The pool processes and the main process.
    assert _dns_targets(jobs["vcp-worker"]) == [("worker", first + i) for i in range(concurrency + 1)]
    assert all("static_configs" not in jobs[name] for name in ("vcp-web", "vcp-worker"))
    assert prometheus["rule_files"] == ["alerts.yml"]


def test_prometheus_sends_alerts_to_alertmanager_which_posts_them_to_a_webhook(compose: dict[str, Any]) -> None:
    prometheus = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    [manager] = prometheus["alerting"]["alertmanagers"]
    assert manager["dns_sd_configs"][0]["names"] == ["alertmanager"]
    assert manager["dns_sd_configs"][0]["port"] == 9093
    config = yaml.safe_load((ROOT / "deploy/alertmanager/alertmanager.yml").read_text())
    receivers = {r["name"]: r for r in config["receivers"]}
    default = receivers[config["route"]["receiver"]]
    assert default["webhook_configs"][0]["url"] == "http://alert-sink:9099/alerts"
    volumes = compose["services"]["alertmanager"]["volumes"]
    assert "./deploy/alertmanager/alertmanager.yml:/etc/alertmanager/alertmanager.yml:ro" in volumes


def test_the_heartbeat_alert_is_routed_away_from_people() -> None:
    rules = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text())["groups"]
    heartbeat = next(r for g in rules for r in g["rules"] if r["alert"] == "VcpAlertingHeartbeat")
    assert heartbeat["expr"] == "vector(1)"
    config = yaml.safe_load((ROOT / "deploy/alertmanager/alertmanager.yml").read_text())
    [route] = [r for r in config["route"]["routes"] if 'alertname="VcpAlertingHeartbeat"' in r["matchers"]]
    assert route["receiver"] == "heartbeat"


def test_offline_override_only_swaps_images_built_from_debian_packages() -> None:
    override = yaml.safe_load((ROOT / "deploy/compose.offline.yml").read_text())["services"]
    script = (ROOT / "scripts/offline_images.sh").read_text()
    for name, service in override.items():
        if name == "grafana":
            assert service == {"profiles": ["grafana"]}, "no Debian package: left out unless asked for"
            continue
        assert set(service) == {"image"}, f"{name}: the override changes only the image"
        assert f"build_from_debian {service['image']} " in script


def test_mounted_files_exist(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts {source}, which does not exist"
    nginx = (ROOT / "deploy/nginx/vcp.conf").read_text()
    assert "location = /metrics { return 404; }" in nginx
    assert "X-Request-ID" in (ROOT / "deploy/nginx/proxy.conf").read_text()


def test_health_checks_use_an_endpoint_the_urlconf_serves() -> None:
    source = (ROOT / "deploy/healthcheck.py").read_text()
    path = re.search(r'/api/v1/health"', source)
    assert path is not None
    assert resolve("/api/v1/health").url_name is not None


@pytest.mark.parametrize("name", ["offline_images.sh", "compose_smoke.sh"])
def test_deploy_scripts_are_strict_and_executable(name: str) -> None:
    script = ROOT / "scripts" / name
    assert script.stat().st_mode & 0o111
    assert "set -euo pipefail" in script.read_text()
