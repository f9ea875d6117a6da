"""The Grafana dashboard and the Prometheus rules may only query metrics that the code exports.

The exported names come from the live registry (monitoring.metrics, django-prometheus's middleware
metrics and prometheus_client's process collector), never from a hand-kept list.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml

from common.metrics import exported_metric_names
from monitoring import metrics as state_gauges

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "vcp-platform.json"
DATASOURCES = DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
PROVIDERS = DEPLOY / "grafana" / "provisioning" / "dashboards" / "vcp-platform.yml"
PROMETHEUS = DEPLOY / "prometheus" / "prometheus.yml"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"

# Series Prometheus writes itself for every target; no client library exports them.
PROMETHEUS_SYNTHESISED = frozenset({"up"})
GRAFANA_DURATION_VARIABLE = re.compile(r"\$__(rate_interval|interval|range)\b")


@pytest.fixture(scope="module")
def exported() -> frozenset[str]:
    from django_prometheus.middleware import Metrics

    Metrics.get_instance()  # registers the django_http_* collectors the middleware uses
    assert state_gauges.DRIFT_STATUS is not None  # imported: the state gauges are registered too
    return frozenset(exported_metric_names())


def _metric_names(expr: str) -> set[str]:
    """Metric names an expression selects; raises ValueError when it does not parse."""
    ast = promql_parser.parse(GRAFANA_DURATION_VARIABLE.sub("5m", expr))
    names: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            if node.name:
                names.add(node.name)
            names.update(m.value for m in node.matchers.matchers if m.name == "__name__")

    promql_parser.walk(ast, visit)
    return names


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def _dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def _alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def test_the_name_check_catches_an_unknown_metric(exported: frozenset[str]) -> None:
    names = _metric_names('sum(rate(vcp_no_such_thing_total{x="1"}[$__rate_interval])) / sum(up)')
    assert names == {"vcp_no_such_thing_total", "up"}
    assert not names - PROMETHEUS_SYNTHESISED <= exported
    with pytest.raises(ValueError):
        _metric_names("sum(rate(vcp_predictions_total[5m])")


def test_exported_names_include_every_source(exported: frozenset[str]) -> None:
    assert "vcp_prediction_latency_seconds_bucket" in exported
    assert "vcp_production_model_info" in exported
    assert "django_http_requests_latency_seconds_by_view_method_bucket" in exported
    assert "django_http_responses_total_by_status_total" in exported
    assert {"process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds"} <= exported
    assert "vcp_predictions" not in exported  # a counter is queried with its _total suffix


def test_every_dashboard_query_parses_and_uses_exported_metrics(exported: frozenset[str]) -> None:
    checked = 0
    for panel in _panels(_dashboard()["panels"]):
        for target in panel.get("targets", []):
            names = _metric_names(target["expr"])
            assert names, f"panel {panel['title']!r}: {target['expr']!r} selects no metric"
            unknown = names - exported
            assert not unknown, f"panel {panel['title']!r} queries metrics nothing exports: {sorted(unknown)}"
            checked += 1
    assert checked >= 20


def test_dashboard_covers_the_required_panels() -> None:
    exprs = " ".join(t["expr"] for p in _panels(_dashboard()["panels"]) for t in p.get("targets", []))
    for metric in (
        "django_http_requests_latency_seconds_by_view_method_bucket",
        "django_http_responses_total_by_status_total",
        "vcp_prediction_latency_seconds_bucket",
        "vcp_batch_runs_total",
        "vcp_drift_psi",
        "vcp_model_realised_f1",
        "vcp_production_model_info",
        "vcp_open_alerts",
        "vcp_cache_lookups_total",
        "vcp_celery_tasks_total",
        "process_resident_memory_bytes",
    ):
        assert metric in exprs, f"no panel shows {metric}"


def test_dashboard_panels_are_well_formed_and_use_the_provisioned_datasource() -> None:
    dashboard = _dashboard()
    datasource_uid = yaml.safe_load(DATASOURCES.read_text())["datasources"][0]["uid"]
    panels = list(_panels(dashboard["panels"]))
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    assert dashboard["uid"] == "vcp-platform"
    for panel in panels:
        assert {"h", "w", "x", "y"} <= panel["gridPos"].keys()
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == datasource_uid
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids))
        assert all(t["datasource"]["uid"] == datasource_uid for t in panel["targets"])


def test_dashboard_provider_loads_a_directory() -> None:
    provider = yaml.safe_load(PROVIDERS.read_text())["providers"][0]
    assert provider["type"] == "file"
    assert provider["options"]["path"]


def test_every_alert_rule_parses_and_uses_exported_metrics(exported: frozenset[str]) -> None:
    rules = _alert_rules()
    for rule in rules:
        names = _metric_names(rule["expr"])
        unknown = names - exported - PROMETHEUS_SYNTHESISED
        assert not unknown, f"alert {rule['alert']} queries metrics nothing exports: {sorted(unknown)}"
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"]
    assert len({r["alert"] for r in rules}) == len(rules)


def test_alert_rules_cover_the_required_conditions() -> None:
    names = {r["alert"] for r in _alert_rules()}
    assert {
        "VcpHighRequestLatencyP95",
        "VcpHighErrorRate",
        "VcpFeatureDrift",
        "VcpDriftRetrainNeeded",
        "VcpModelF1Drop",
        "VcpBatchMissed",
        "VcpProcessMemoryHigh",
    } <= names


def test_prometheus_loads_the_rules_and_scrapes_web_and_worker() -> None:
    config = yaml.safe_load(PROMETHEUS.read_text())
    for rule_file in config["rule_files"]:
        assert (PROMETHEUS.parent / rule_file).is_file()
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert {"vcp-web", "vcp-worker"} <= jobs.keys()
    assert jobs["vcp-web"]["metrics_path"] == "/metrics"
    assert all(job.get("static_configs") or job.get("dns_sd_configs") for job in jobs.values())
