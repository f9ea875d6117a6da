"""deploy/k8s validates against the Kubernetes schema and says what the platform needs.

kubernetes-validate ships the Kubernetes JSON schemas inside its wheel, so this runs offline.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from django.conf import settings

from tests.deploy.conftest import ROOT

K8S = ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.30.0"
# Custom resources have no schema in Kubernetes itself; they are checked field by field below.
CUSTOM_KINDS = {("keda.sh/v1alpha1", "ScaledObject")}


def _documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _manifest_files() -> list[Path]:
    return sorted(p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml")


def _resources() -> dict[tuple[str, str], dict[str, Any]]:
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for path in _manifest_files():
        if path.parent.name == "alternatives":
            continue
        for doc in _documents(path):
            found[(doc["kind"], doc["metadata"]["name"])] = doc
    return found


def _container(deployment: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == name)


@pytest.mark.parametrize("path", _manifest_files(), ids=lambda p: str(p.relative_to(K8S)))
def test_manifest_validates_against_the_kubernetes_schema(path: Path) -> None:
    for doc in _documents(path):
        if (doc["apiVersion"], doc["kind"]) in CUSTOM_KINDS:
            continue
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_kustomization_lists_every_manifest_but_the_secret_template_and_alternatives() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == on_disk - {"secret.example.yaml"}


def test_web_worker_and_beat_have_probes_requests_and_grace_periods() -> None:
    resources = _resources()
    for name, container, probes in (
        ("vcp-web", "web", ("startupProbe", "readinessProbe", "livenessProbe")),
        ("vcp-worker", "worker", ("startupProbe", "livenessProbe")),
        ("vcp-beat", "beat", ("livenessProbe",)),
    ):
        deployment = resources[("Deployment", name)]
        spec = _container(deployment, container)
        for probe in probes:
            assert probe in spec, f"{name} has no {probe}"
        assert {"cpu", "memory"} <= set(spec["resources"]["requests"]), name
        assert "memory" in spec["resources"]["limits"], name
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["readOnlyRootFilesystem"] is True
        assert pod["terminationGracePeriodSeconds"] >= 20
    gunicorn = (ROOT / "deploy/gunicorn.conf.py").read_text()
    graceful = int(re.search(r"graceful_timeout = (\d+)", gunicorn).group(1))  # type: ignore[union-attr]
    assert resources[("Deployment", "vcp-web")]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > graceful
    assert resources[("Deployment", "vcp-beat")]["spec"]["replicas"] == 1
    assert resources[("Deployment", "vcp-beat")]["spec"]["strategy"]["type"] == "Recreate"


def test_web_probes_send_an_allowed_host() -> None:
    resources = _resources()
    web = _container(resources[("Deployment", "vcp-web")], "web")
    allowed = resources[("ConfigMap", "vcp-config")]["data"]["ALLOWED_HOSTS"].split(",")
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        get = web[probe]["httpGet"]
        assert get["path"] == "/api/v1/health"
        assert {"name": "Host", "value": allowed[0]} in get["httpHeaders"]


def test_worker_soft_shutdown_fits_in_its_grace_period() -> None:
    worker = _resources()[("Deployment", "vcp-worker")]
    spec = _container(worker, "worker")
    soft = float(next(a for a in spec["command"] if a.startswith("worker.soft_shutdown_timeout=")).split("=")[1])
    assert {"name": "REMAP_SIGTERM", "value": "SIGQUIT"} in spec["env"]
    assert worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > soft + 10
    assert spec["command"][spec["command"].index("-Q") + 1] == settings.CELERY_TASK_DEFAULT_QUEUE


def test_service_routes_to_the_web_pods_http_and_static_ports() -> None:
    resources = _resources()
    service = resources[("Service", "vcp-web")]
    labels = resources[("Deployment", "vcp-web")]["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    named = {p["name"]: p["targetPort"] for p in service["spec"]["ports"]}
    container_ports = {
        p["name"]
        for c in resources[("Deployment", "vcp-web")]["spec"]["template"]["spec"]["containers"]
        for p in c["ports"]
    }
    assert set(named.values()) <= container_ports


def test_ingress_terminates_tls_for_the_allowed_host() -> None:
    resources = _resources()
    ingress = resources[("Ingress", "vcp-web")]
    [tls] = ingress["spec"]["tls"]
    [rule] = ingress["spec"]["rules"]
    assert tls["secretName"]
    assert rule["host"] in tls["hosts"]
    config = resources[("ConfigMap", "vcp-config")]["data"]
    assert rule["host"] in config["ALLOWED_HOSTS"].split(",")
    assert f"https://{rule['host']}" in config["CSRF_TRUSTED_ORIGINS"].split(",")
    assert config["VCP_BEHIND_PROXY"] == "1", "Django must trust the controller's X-Forwarded-Proto"
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/force-ssl-redirect"] == "true"
    backends = {p["path"]: p["backend"]["service"] for p in rule["http"]["paths"]}
    assert backends["/"]["name"] == backends["/static/"]["name"] == "vcp-web"


def test_web_scales_on_cpu_and_workers_on_queue_length() -> None:
    resources = _resources()
    hpa = resources[("HorizontalPodAutoscaler", "vcp-web")]
    assert hpa["spec"]["scaleTargetRef"]["name"] == "vcp-web"
    assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    assert hpa["spec"]["minReplicas"] >= 2
    scaled = resources[("ScaledObject", "vcp-worker")]
    assert scaled["spec"]["scaleTargetRef"]["name"] == "vcp-worker"
    [trigger] = scaled["spec"]["triggers"]
    assert trigger["type"] == "redis"
    assert trigger["metadata"]["listName"] == settings.CELERY_TASK_DEFAULT_QUEUE
    # The broker is database 1 of the same Redis (docker-compose.yml, secret.example.yaml).
    assert trigger["metadata"]["databaseIndex"] == "1"
    secret = _documents(K8S / "secret.example.yaml")[0]["stringData"]
    assert secret["CELERY_BROKER_URL"].endswith("/1")
    for variable in ("addressFromEnv", "passwordFromEnv"):
        assert trigger["metadata"][variable] in secret
    alternative = _documents(K8S / "alternatives" / "hpa-worker-external.yaml")[0]
    assert alternative["spec"]["metrics"][0]["external"]["metric"]["selector"]["matchLabels"]["queue"] == "vcp"


def test_disruption_budgets_and_migrate_job_cover_the_release() -> None:
    resources = _resources()
    web_pdb = resources[("PodDisruptionBudget", "vcp-web")]
    assert web_pdb["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": "vcp-web"}
    assert web_pdb["spec"]["minAvailable"] == 1
    job = resources[("Job", "vcp-migrate")]
    [container] = job["spec"]["template"]["spec"]["containers"]
    assert "migrate --noinput" in container["command"][-1]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_secret_template_holds_placeholders_only() -> None:
    [secret] = _documents(K8S / "secret.example.yaml")
    for key, value in secret["stringData"].items():
        assert value == "" or "<" in value, f"{key} looks like a real value"
    config = _resources()[("ConfigMap", "vcp-config")]["data"]
    assert not {"SECRET_KEY", "DATABASE_URL", "REDIS_URL"} & set(config), "secrets belong in the Secret"


def test_every_pod_reads_the_same_config_and_secret() -> None:
    for (kind, name), resource in _resources().items():
        if kind not in {"Deployment", "Job"}:
            continue
        for container in resource["spec"]["template"]["spec"]["containers"]:
            if not container["image"].startswith("registry.example.com/vcp-platform"):
                continue
            refs = {next(iter(ref.values()))["name"] for ref in container["envFrom"]}
            assert refs == {"vcp-config", "vcp-secrets"}, name


def test_batch_predict_has_its_own_pods_behind_the_ingress() -> None:
    resources = _resources()
    batch = resources[("Deployment", "vcp-web-batch")]
    web = resources[("Deployment", "vcp-web")]
    container = _container(batch, "web")
    assert container["command"] == _container(web, "web")["command"]
    env = {item["name"]: item["value"] for item in container["env"]}
    assert env["GUNICORN_WORKERS"] == "1"
    assert int(env["DB_STATEMENT_TIMEOUT_MS"]) > 2000  # web's limit (deploy/gunicorn.conf.py)
    cpu = container["resources"]["requests"]["cpu"]
    assert int(cpu.rstrip("m")) < int(_container(web, "web")["resources"]["requests"]["cpu"].rstrip("m"))
    [rule] = resources[("Ingress", "vcp-web")]["spec"]["rules"]
    first = rule["http"]["paths"][0]  # ingress-nginx matches Exact before the / prefix either way
    assert (first["path"], first["pathType"]) == ("/api/v1/batch_predict", "Exact")
    assert first["backend"]["service"]["name"] == "vcp-web-batch"
    service = resources[("Service", "vcp-web-batch")]
    assert service["spec"]["selector"] == batch["spec"]["selector"]["matchLabels"]
