"""Prometheus metrics over real HTTP: per-tenant request counters with route templates, the bounded tenant
label, who may read /metrics (network, trusted proxies, operator token; never a tenant host from outside),
and two uvicorn worker processes summed by one scrape."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from polyflow.platform import provisioning
from polyflow.platform.observability.metrics import prepare_node
from tests.resilience.procs import AppProcess

OPERATOR = "metrics-operator-token-0123456789"
OUTSIDE = "203.0.113.9"  # a documentation address: only ever written into a header, never contacted


def samples(text: str, name: str) -> list[tuple[dict, float]]:
    """(labels, value) of every sample called `name` in an exposition."""
    out = []
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                out.append((sample.labels, sample.value))
    return out


def requests_of(text: str, **labels) -> float:
    """Sum of polyflow_http_requests_total over the samples matching `labels`."""
    return sum(value for got, value in samples(text, "polyflow_http_requests_total")
               if all(got.get(k) == v for k, v in labels.items()))


async def scrape(server, **kw) -> httpx.Response:
    async with server.client(**kw) as client:
        return await client.get("/metrics")


async def test_requests_are_counted_per_tenant_with_route_templates(live, make_tenant):
    await make_tenant("acme")
    await make_tenant("beta")
    ids = [uuid.uuid4() for _ in range(3)]
    async with live.tenant_client("acme") as acme, live.tenant_client("beta") as beta:
        for product_id in ids:
            assert (await acme.get(f"/api/v1/products/{product_id}")).status_code == 404
        assert (await acme.get("/api/v1/tenant")).status_code == 200
        for _ in range(2):
            assert (await beta.get("/api/v1/tenant")).status_code == 200
        assert (await beta.get(f"/no/such/page/{ids[0]}")).status_code == 404
        assert (await beta.get("/static/app.css")).status_code == 200

    response = await scrape(live)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    template = "/api/v1/products/{product_id}"
    assert requests_of(text, tenant="acme", route=template, method="GET", status="404", app="tenant") == 3
    assert requests_of(text, tenant="acme", route="/api/v1/tenant", status="200") == 1
    assert requests_of(text, tenant="beta", route="/api/v1/tenant", status="200") == 2
    assert requests_of(text, tenant="beta", route="unmatched", status="404") == 1
    assert requests_of(text, tenant="beta", route="/static/{path}", status="200") == 1  # a mount: its prefix
    # Never a raw path (ids would make a series per record).
    assert not any(str(i) in text for i in ids)
    # Latency per route and per tenant.
    counts = {s[0]["tenant"]: s[1] for s in samples(text, "polyflow_http_tenant_request_duration_seconds_count")}
    assert counts == {"acme": 4, "beta": 4}
    route_counts = [v for labels, v in samples(text, "polyflow_http_request_duration_seconds_count")
                    if labels["route"] == template]
    assert route_counts == [3]
    # The samplers: the route cache loaded both tenants; engines and budget of this process.
    cache = {labels["event"]: v for labels, v in samples(text, "polyflow_route_cache_events_total")}
    assert cache["db"] >= 2 and cache["hit"] >= 1
    assert samples(text, "polyflow_engines")[0][1] >= 1  # acme's product lookups opened its engine
    assert samples(text, "polyflow_engine_connection_budget")[0][1] == live.settings.tenant_connection_budget
    assert samples(text, "polyflow_engine_node_connection_budget")[0][1] == 0  # no node budget configured
    # The main database's view: two active tenants, both onboarded, none backed up yet.
    tenants = {labels["status"]: v for labels, v in samples(text, "polyflow_tenants")}
    assert tenants["active"] == 2
    assert samples(text, "polyflow_onboarding_duration_seconds_count")[0][1] == 2
    assert samples(text, "polyflow_backup_tenants_without_backup")[0][1] == 2
    up = {labels["dependency"]: v for labels, v in samples(text, "polyflow_dependency_up")}
    assert up == {"main_db": 1, "redis": 1}


async def test_refusals_of_a_resolved_tenant_carry_its_name(live, make_tenant, platform):
    await make_tenant("acme")
    await provisioning.set_status(platform, "acme", "suspended")
    async with live.tenant_client("acme", role=None) as client:
        async with asyncio.timeout(10):
            while (await client.get("/api/v1/tenant")).status_code != 403:
                await asyncio.sleep(0.02)
    text = (await scrape(live)).text
    assert requests_of(text, tenant="acme", app="tenant", status="403") >= 1
    assert requests_of(text, tenant="none", status="403") == 0


async def test_a_node_budget_is_reported_as_such(settings, make_live, tmp_path):
    pytest.importorskip("polyflow.platform.tenancy.nodebudget")
    live = make_live(settings.model_copy(update={"node_connection_budget": 7, "node_budget_dir": tmp_path}))
    text = (await scrape(live)).text
    # The node's budget, the same in every worker: merged with max, not summed like per-process budgets.
    assert samples(text, "polyflow_engine_node_connection_budget")[0][1] == 7
    assert samples(text, "polyflow_engine_connection_budget")[0][1] == 0


async def test_tenants_beyond_top_n_are_folded_into_other(settings, make_live, make_tenant):
    for sub in ("acme", "beta", "gamma"):
        await make_tenant(sub)
    live = make_live(settings.model_copy(update={"metrics_top_tenants": 1, "metrics_tenants": "gamma"}))
    for sub in ("acme", "beta", "gamma", "beta"):
        async with live.tenant_client(sub) as client:
            assert (await client.get("/api/v1/tenant")).status_code == 200
    text = (await scrape(live)).text
    route = "/api/v1/tenant"
    assert requests_of(text, tenant="acme", route=route) == 1  # the first one seen keeps its name
    assert requests_of(text, tenant="gamma", route=route) == 1  # named in POLYFLOW_METRICS_TENANTS
    assert requests_of(text, tenant="other", route=route) == 2  # beta, twice
    assert requests_of(text, tenant="beta") == 0


async def test_metrics_only_for_the_platform_network_or_the_operator_token(settings, make_live, make_tenant):
    await make_tenant("acme")
    live = make_live(settings.model_copy(update={
        "trusted_proxies": "127.0.0.1/32", "operator_token": SecretStr(OPERATOR),
        "metrics_allowed_ips": "127.0.0.0/8,198.51.100.0/24"}))

    assert (await scrape(live)).status_code == 200  # Prometheus on the node (loopback, no proxy)
    inside = await scrape(live, headers={"X-Forwarded-For": "198.51.100.7"})  # the platform's network via the LB
    assert inside.status_code == 200 and "polyflow_http_requests_total" in inside.text

    outside = {"X-Forwarded-For": OUTSIDE}
    for headers in (outside, {**outside, "Authorization": "Bearer wrong-token-0123456789"},
                    {**outside, "Authorization": OPERATOR}):
        refused = await scrape(live, headers=headers)
        assert refused.status_code == 404 and "polyflow_" not in refused.text
    # A client writing its own X-Forwarded-For before the proxy's hop does not get in either.
    spoofed = await scrape(live, headers={"X-Forwarded-For": f"127.0.0.1, {OUTSIDE}"})
    assert spoofed.status_code == 404
    # Through a tenant's subdomain from the internet: nothing, with or without a tenant's own token.
    async with live.tenant_client("acme", headers=dict(outside)) as tenant:
        response = await tenant.get("/metrics")
        assert response.status_code == 404 and "polyflow_" not in response.text
    async with live.client("acme.localhost", headers=dict(outside)) as anonymous:
        response = await anonymous.get("/metrics")
        assert response.status_code == 404 and "polyflow_" not in response.text
    # The operator token opens it from anywhere (a hosted Prometheus), on any host.
    for host in (None, "acme.localhost"):
        granted = await scrape(live, **({"host": host} if host else {}),
                               headers={**outside, "Authorization": f"Bearer {OPERATOR}"})
        assert granted.status_code == 200 and "polyflow_http_requests_total" in granted.text


async def test_a_forwarding_header_from_an_untrusted_peer_gets_no_network_grant(live):
    # No trusted proxy configured: a loopback peer that forwards is a proxy we do not know (an nginx on the
    # node, say), so the client behind it may be anyone.
    assert (await scrape(live)).status_code == 200
    for header in ("X-Forwarded-For", "X-Real-IP", "Forwarded"):
        value = "for=203.0.113.9" if header == "Forwarded" else OUTSIDE
        assert (await scrape(live, headers={header: value})).status_code == 404


def _pids(folder: Path, kind: str) -> set[int]:
    return {int(m.group(1)) for p in folder.iterdir() if (m := re.fullmatch(kind + r"_(\d+)\.db", p.name))}


class Workers(AppProcess):
    """uvicorn's supervisor with N worker processes (as `polyflow serve --workers N` runs them), tolerant of a
    slow start: on a loaded 2-core machine importing the app takes longer than uvicorn's default 5 s health
    check, after which the supervisor kills and restarts a worker forever."""

    def start(self, timeout: float = 300) -> "Workers":
        cmd = [sys.executable, "-m", "uvicorn", "--factory", "polyflow.main:app_from_env", "--host", "127.0.0.1",
               "--port", str(self.port), "--workers", str(self.workers), "--timeout-worker-healthcheck", "120",
               "--no-access-log", "--log-level", "warning"]
        with open(self.log_path, "wb") as log_file:
            self.proc = subprocess.Popen(cmd, env=self.env, stdout=log_file, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"uvicorn exited ({self.proc.returncode}):\n{self.log()[-3000:]}")
            try:
                if httpx.get(self.base_url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"uvicorn did not answer /healthz in {timeout}s:\n{self.log()[-3000:]}")


def test_serve_prepares_a_shared_folder_for_several_workers(settings, monkeypatch):
    # setenv first, so that monkeypatch restores "unset" afterwards: prepare_node writes os.environ, and a folder
    # left there would switch every later live server of this test process to multiprocess mode.
    for name in ("POLYFLOW_METRICS_DIR", "PROMETHEUS_MULTIPROC_DIR"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    assert prepare_node(settings, 1) is None  # one worker: single-process mode
    folder = prepare_node(settings, 2)
    assert folder is not None and folder.is_dir() and os.environ["POLYFLOW_METRICS_DIR"] == str(folder)
    # A configured folder is kept, and a previous run's files are removed (their counts would add up).
    (folder / "counter_4242.db").write_bytes(b"stale")
    (folder / "notes.txt").write_text("an operator's file")
    assert prepare_node(settings.model_copy(update={"metrics_dir": folder}), 2) == folder
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]


async def test_two_worker_processes_are_summed_by_one_scrape(settings, make_tenant):
    await make_tenant("acme")
    folder = Path(tempfile.mkdtemp(prefix="pf-metrics-"))
    app = Workers(settings, workers=2, metrics_dir=str(folder), metrics_sample_seconds=0.5).start()
    try:
        async with asyncio.timeout(90):
            sent = 0
            # Fresh connections, several at once, until both workers have served some (the kernel spreads the
            # accepts of the shared socket; bounded by the timeout above).
            while len(_pids(folder, "counter")) < 2 or sent < 20:
                async def one():
                    async with app.client("acme") as client:
                        return (await client.get("/api/v1/tenant")).status_code

                statuses = await asyncio.gather(*(one() for _ in range(8)))
                assert set(statuses) == {200}
                sent += len(statuses)
            workers = _pids(folder, "counter")
            assert len(workers) == 2

            # Both workers' live gauges are in (each sampled at start): two budgets summed.
            deadline = time.monotonic() + 10
            while True:
                text = (await scrape(app)).text
                budget = samples(text, "polyflow_engine_connection_budget")[0][1]
                if budget == 2 * settings.tenant_connection_budget or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.2)
            assert budget == 2 * settings.tenant_connection_budget
            assert requests_of(text, tenant="acme", route="/api/v1/tenant", status="200") == sent

            # A worker dies: its counts stay in the sum, its live gauges are dropped at the next scrape.
            dead = min(workers)
            os.kill(dead, signal.SIGKILL)
            deadline = time.monotonic() + 20
            while _pids(folder, "gauge_livesum") & {dead} and time.monotonic() < deadline:
                try:
                    text = (await scrape(app)).text
                except httpx.HTTPError:
                    pass  # the connection the dead worker had accepted
                await asyncio.sleep(0.2)
            assert dead not in _pids(folder, "gauge_livesum")
            assert requests_of(text, tenant="acme", route="/api/v1/tenant", status="200") == sent
    finally:
        app.stop()
