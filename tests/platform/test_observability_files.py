"""The Grafana dashboard and the Prometheus alert rules in deploy/observability/: they load, have the structure
Grafana and Prometheus expect, and every metric (and label) they name is exported by a real scrape of the app,
so renaming a metric without updating them fails here."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parents[2]
DASHBOARD = REPO / "deploy" / "observability" / "grafana-dashboard.json"
RULES = REPO / "deploy" / "observability" / "alert-rules.yml"

DURATION = re.compile(r"^\d+[smhdwy]$")
METRIC = re.compile(r"\bpolyflow_\w+")
SELECTOR = re.compile(r"\b(polyflow_\w+)\{([^}]*)\}")
MATCHER = re.compile(r"(\w+)\s*(?:=~|!~|!=|=)\s*\"")


def load_rules() -> list[dict]:
    data = yaml.safe_load(RULES.read_text())
    assert isinstance(data, dict) and set(data) == {"groups"}
    rules = []
    for group in data["groups"]:
        assert group["name"] and group["rules"], group
        rules += group["rules"]
    return rules


def load_dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def dashboard_exprs(dashboard: dict) -> list[str]:
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def test_alert_rules_have_the_prometheus_rule_file_structure():
    rules = load_rules()
    names = [rule["alert"] for rule in rules]
    assert len(names) == len(set(names)), "alert names must be unique"
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations", "keep_firing_for"}, rule["alert"]
        assert isinstance(rule["expr"], str) and METRIC.search(rule["expr"]), rule["alert"]
        assert rule["expr"].count("(") == rule["expr"].count(")"), rule["alert"]
        assert DURATION.match(str(rule["for"])), rule["alert"]
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}, rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]
    # What the issue asks the rules to cover.
    text = RULES.read_text()
    for needed in ("polyflow_http_requests_total", "polyflow_engine_open_connections", "polyflow_engine_connection_budget",
                   "polyflow_fleet_migration_latest_run_tenants", "polyflow_backup_oldest_age_seconds",
                   "polyflow_dependency_up", "polyflow_jobs_oldest_todo_seconds", "_bucket"):
        assert needed in text, needed


def test_dashboard_has_panels_with_prometheus_targets():
    dashboard = load_dashboard()
    assert dashboard["title"] and dashboard["uid"] and dashboard["schemaVersion"] >= 30
    assert any(v["type"] == "datasource" and v["query"] == "prometheus" for v in dashboard["templating"]["list"])
    panels = dashboard["panels"]
    assert len(panels) >= 10
    assert len({p["id"] for p in panels}) == len(panels)
    for panel in panels:
        assert panel["title"] and panel["type"] and set(panel["gridPos"]) == {"h", "w", "x", "y"}, panel
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24, panel["title"]
        assert panel["targets"], panel["title"]
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), panel["title"]
        for target in panel["targets"]:
            assert METRIC.search(target["expr"]), panel["title"]
            assert target["expr"].count("(") == target["expr"].count(")"), panel["title"]
    titles = " ".join(p["title"].lower() for p in panels)
    for needed in ("error rate per tenant", "p95", "budget", "503", "route cache", "redis", "job queue", "fleet",
                   "backups"):
        assert needed in titles, needed


async def test_every_metric_the_files_name_is_in_a_real_scrape(live, make_tenant):
    await make_tenant("acme")
    async with live.tenant_client("acme") as client:
        assert (await client.get("/api/v1/tenant")).status_code == 200
    async with live.client() as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    exported: dict[str, set[str]] = {}  # sample name -> label names seen
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            exported.setdefault(sample.name, set()).update(sample.labels)

    exprs = [rule["expr"] for rule in load_rules()] + dashboard_exprs(load_dashboard())
    used = {name for expr in exprs for name in METRIC.findall(expr)}
    assert len(used) >= 15
    missing = sorted(used - set(exported))
    assert not missing, f"named in deploy/observability but not exported: {missing}"
    for expr in exprs:
        for name, matchers in SELECTOR.findall(expr):
            for label in MATCHER.findall(matchers):
                assert label in exported[name], f"{name} has no label {label!r} (in {expr!r})"
