"""Structured logs of a real server: `uvicorn --factory` in a subprocess, JSON lines on its stderr.

What an operator relies on: one access line per request naming tenant, user, route template, status, duration
and the request id the client saw; an unexpected error logged once with that id; a client's unsafe request id
replaced; no credential in any line; and a fault that repeats logged once per outage, not once per request.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import pytest

import polyflow
from polyflow.config import Settings
from polyflow.kit import logs
from polyflow.platform import provisioning
from polyflow.platform.localpg import free_port
from polyflow.platform.runtime import Platform
from tests.conftest import TEST_SECRET, _admin_exec, _drop_main_databases
from tests.fixtures.auth import TEST_PASSWORD, make_user

REPO = Path(__file__).resolve().parents[2]
SRC = Path(polyflow.__file__).resolve().parents[1]
TENANT = "pt-abc"
HOST = f"{TENANT}.localhost"


def boom_app():
    """The production factory plus one tenant route that fails unexpectedly (uvicorn --factory, below)."""
    from polyflow.main import app_from_env
    from polyflow.platform.tenancy.middleware import TenancyMiddleware

    app = app_from_env()
    tenant_app = next(m.kwargs["tenant_app"] for m in app.user_middleware if m.cls is TenancyMiddleware)

    @tenant_app.get("/api/v1/test-boom/{thing}")
    @tenant_app.get("/test-boom-page")
    async def boom(thing: str = "page"):
        raise RuntimeError("secret internals: password=hunter2")

    return app


class JsonServer:
    """`python -m uvicorn --factory` on a free port, logging JSON to a file. uvicorn is NOT told to skip its
    access log: the app's own logging set-up has to switch it off."""

    def __init__(self, settings, factory: str = "tests.platform.test_logging:boom_app", **extra_env):
        self.port = free_port()
        self.log_path = Path(tempfile.mkstemp(prefix="pf-log-", suffix=".jsonl")[1])
        env = {k: v for k, v in os.environ.items() if not k.startswith("POLYFLOW_")}
        env.update({
            "POLYFLOW_ENV": settings.env, "POLYFLOW_SECRET_KEY": settings.secret_key.get_secret_value(),
            "POLYFLOW_DATABASE_URL": settings.database_url, "POLYFLOW_REDIS_URL": settings.redis_url,
            "POLYFLOW_REDIS_NAMESPACE": settings.redis_namespace, "POLYFLOW_LOG_FORMAT": "json",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), str(REPO), os.environ.get("PYTHONPATH")])),
            **extra_env,
        })
        with open(self.log_path, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "--factory", factory, "--host", "127.0.0.1", "--port",
                 str(self.port)], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=str(REPO),
                start_new_session=True)
        deadline = time.monotonic() + 120  # a loaded 2-core CI machine takes its time to import the app
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                out = self.text()[-3000:]
                self.stop()
                raise RuntimeError(f"server did not start:\n{out}")
            time.sleep(0.1)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def lines(self) -> list[dict]:
        """Every line of the log, each of which must be one JSON object."""
        out = []
        for raw in self.text().splitlines():
            if raw.strip():
                out.append(json.loads(raw))  # a line that is not JSON fails the test here
        return out

    def wait_for(self, predicate, timeout: float = 10) -> list[dict]:
        """The lines matching ``predicate`` once there is at least one (the access line follows the answer)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [line for line in self.lines() if predicate(line)]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.log_path.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def server_settings(pg_admin, main_template, redis_server):
    """One main database (cloned from the template, like `make_settings`) with one tenant for this module's
    server: starting a server process costs seconds, each test reads only its own requests' lines."""
    name = f"pf_main_{uuid.uuid4().hex[:12]}"
    _admin_exec(pg_admin, f"CREATE DATABASE {name} TEMPLATE {main_template}")
    settings = Settings(env="test", secret_key=TEST_SECRET, redis_url=redis_server.url,
                        redis_namespace=f"t{uuid.uuid4().hex[:10]}",
                        database_url=pg_admin.with_database(name).url("postgresql"))

    async def tenant():
        platform = Platform(settings)
        try:
            await provisioning.create_tenant(platform, name="ABC", subdomain=TENANT)
        finally:
            await platform.stop()

    asyncio.run(tenant())
    yield settings
    _drop_main_databases(pg_admin, [name])


@pytest.fixture(scope="module")
def server(server_settings):
    s = JsonServer(server_settings)
    yield s
    s.stop()


@pytest.fixture
def settings(server_settings):
    return server_settings


def access_lines(server: JsonServer, request_id: str, timeout: float = 10) -> list[dict]:
    lines = server.wait_for(lambda l: l["logger"] == "polyflow.access" and l["request_id"] == request_id, timeout)
    time.sleep(0.2)  # a second line for the same request would come right after the first
    return [l for l in server.lines() if l["logger"] == "polyflow.access" and l["request_id"] == request_id]


def test_a_tenant_request_is_one_access_line_with_tenant_user_route_and_request_id(server, settings):
    user = make_user(settings, TENANT, ["owner"])
    with httpx.Client(base_url=server.url, headers={"Host": HOST, "Authorization": f"Bearer {user['token']}"},
                      timeout=30) as c:
        me = c.get("/api/v1/auth/me")
        missing = c.get(f"/api/v1/products/{uuid.uuid4()}")
    assert me.status_code == 200 and missing.status_code == 404

    [line] = access_lines(server, me.headers["x-request-id"])
    assert line["tenant"] == TENANT and line["user"] == str(user["id"])
    assert line["method"] == "GET" and line["route"] == "/api/v1/auth/me" and line["path"] == "/api/v1/auth/me"
    assert line["status"] == 200 and line["bytes"] == len(me.content) and line["client_ip"] == "127.0.0.1"
    assert isinstance(line["duration_ms"], (int, float)) and line["duration_ms"] > 0
    assert line["level"] == "INFO" and line["ts"].endswith("Z")

    # The route's template, not the path with the id in it (what a dashboard groups by).
    [line] = access_lines(server, missing.headers["x-request-id"])
    assert line["route"] == "/api/v1/products/{product_id}" and line["status"] == 404
    assert line["path"].startswith("/api/v1/products/") and line["user"] == str(user["id"])

    # uvicorn's own access line ('"GET /api/v1/auth/me HTTP/1.1" 200') is off: a request is logged once.
    assert "HTTP/1.1" not in server.text()


def test_probes_are_not_access_logged_at_info(server):
    with httpx.Client(base_url=server.url, timeout=30) as c:
        ids = [c.get(path).headers["x-request-id"] for path in ("/healthz", "/readyz", "/healthz")]
        landing = c.get("/", headers={"Host": "localhost"})
        static = c.get("/static/app.css", headers={"Host": HOST})
    assert access_lines(server, landing.headers["x-request-id"])  # a normal request on the same server is
    logged = {l["request_id"] for l in server.lines() if l["logger"] == "polyflow.access"}
    assert not logged & set(ids)
    # A file of a mounted app: the mount's template, not one line template per file name.
    [line] = access_lines(server, static.headers["x-request-id"])
    assert static.status_code == 200 and line["route"] == "/static/{path}" and line["path"] == "/static/app.css"


def test_an_unexpected_error_is_logged_once_with_the_request_id_of_the_answer(server):
    with httpx.Client(base_url=server.url, headers={"Host": HOST}, timeout=30) as c:
        r = c.get("/api/v1/test-boom/x1")
    assert r.status_code == 500 and "hunter2" not in r.text
    request_id = r.headers["x-request-id"]
    assert r.json()["request_id"] == request_id

    [access] = access_lines(server, request_id)
    assert access["status"] == 500 and access["route"] == "/api/v1/test-boom/{thing}" and access["tenant"] == TENANT
    traces = [l for l in server.lines() if "exc" in l and "hunter2" in l["exc"]]
    assert len(traces) == 1, traces
    [trace] = traces
    # One JSON line: the whole trace is one string field, with the request's context around it.
    assert trace["request_id"] == request_id and trace["level"] == "ERROR" and trace["tenant"] == TENANT
    assert trace["route"] == "/api/v1/test-boom/{thing}" and "Traceback" in trace["exc"]
    assert "RuntimeError" in trace["exc"]


def test_error_pages_show_the_request_id(server):
    """A person quotes the id on the page; an operator finds the lines with it."""
    with httpx.Client(base_url=server.url, headers={"Host": HOST, "Accept": "text/html"}, timeout=30) as c:
        boom = c.get("/test-boom-page")
        missing = c.get("/no-such-page")
    for r, status in ((boom, 500), (missing, 404)):
        request_id = r.headers["x-request-id"]
        assert r.status_code == status and r.headers["content-type"].startswith("text/html")
        assert f"<code>{request_id}</code>" in r.text and "hunter2" not in r.text
        [line] = access_lines(server, request_id)
        assert line["status"] == status
    [trace] = [l for l in server.lines() if "exc" in l and l["request_id"] == boom.headers["x-request-id"]]
    assert "hunter2" in trace["exc"]


def test_an_unsafe_client_request_id_is_replaced(server):
    unsafe = 'x" injected="1 ' + "a" * 10
    with httpx.Client(base_url=server.url, headers={"Host": HOST}, timeout=30) as c:
        r = c.get("/api/v1/tenant", headers={"X-Request-ID": unsafe})
        kept = c.get("/api/v1/tenant", headers={"X-Request-ID": "lb-7f3a-0001"})
    assert r.status_code == 200 and r.headers["x-request-id"] != unsafe
    assert len(r.headers["x-request-id"]) == 32
    [line] = access_lines(server, r.headers["x-request-id"])
    assert line["tenant"] == TENANT
    assert kept.headers["x-request-id"] == "lb-7f3a-0001" and access_lines(server, "lb-7f3a-0001")
    assert "injected" not in server.text()


def test_no_credentials_in_any_line(server, settings):
    user = make_user(settings, TENANT, ["owner"])
    cookie_secret = "pfs_" + uuid.uuid4().hex + "_" + "s" * 30
    with httpx.Client(base_url=server.url, headers={"Host": HOST}, timeout=30) as c:
        bad = c.post("/api/v1/auth/login", json={"email": user["email"], "password": "wrong-Password-4711"})
        good = c.post("/api/v1/auth/login", json={"email": user["email"], "password": TEST_PASSWORD})
        session = good.cookies.get("pf_session")
        me = c.get("/api/v1/auth/me")  # the session cookie from the sign-in
        token = c.get("/api/v1/tenant", headers={"Authorization": f"Bearer {user['token']}",
                                                 "Cookie": f"pf_session={cookie_secret}"})
        reset = c.get("/reset?token=one-time-link-secret-123", headers={"Accept": "text/html"})
    assert bad.status_code in (401, 403) and good.status_code == 200 and session and me.status_code == 200
    assert token.status_code == 200
    for r in (bad, good, me, token, reset):
        assert access_lines(server, r.headers["x-request-id"]), r.request.url
    [line] = access_lines(server, me.headers["x-request-id"])
    assert line["user"] == str(user["id"])  # signed in by cookie: the user is named too
    text = server.text()
    for secret in (TEST_PASSWORD, "wrong-Password-4711", session, cookie_secret, user["token"],
                   user["token"].rsplit("_", 1)[1], "one-time-link-secret-123", user["email"]):
        assert secret not in text, secret


# -- one trace per outage (the helper C and D use) -----------------------------------------------------------
def test_a_fault_that_repeats_is_logged_once_then_counted_then_recovered():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    log = logging.getLogger(f"test.outage.{uuid.uuid4().hex}")
    log.addHandler(handler)
    log.propagate = False
    outage = logs.outage(f"test-{uuid.uuid4().hex}", log, every=0.3)
    failures, started = 0, time.monotonic()
    while time.monotonic() - started < 0.75:  # requests failing for 0.75 s: two summaries' worth
        try:
            raise ConnectionRefusedError("main database refused the connection")
        except OSError as exc:
            outage.failed("tenant registry unavailable", exc=exc)
        failures += 1
        time.sleep(0.002)
    assert failures > 20 and outage.active and outage.failures == failures
    assert outage.recovered() and not outage.recovered()  # the second call: no outage going on
    lines = [json.loads(l) for l in stream.getvalue().splitlines()]
    with_trace = [l for l in lines if "exc" in l]
    assert len(with_trace) == 1 and "ConnectionRefusedError" in with_trace[0]["exc"]
    summaries = [l for l in lines if "goes on" in l["msg"]]
    assert 1 <= len(summaries) <= 3 and all("exc" not in l for l in summaries)
    assert "over after" in lines[-1]["msg"] and lines[-1]["failures"] == failures
    assert len(lines) <= 5
    # A new outage logs its trace again.
    try:
        raise ConnectionRefusedError("again")
    except OSError as exc:
        assert outage.failed("tenant registry unavailable", exc=exc)
    assert outage.outages == 2


def test_text_format_for_development():
    record = logging.LogRecord("polyflow.x", logging.WARNING, __file__, 1, "slow %s", ("query",), None)
    record.table = "stock_moves"
    line = logs.TextFormatter().format(record)
    assert "WARNING" in line and "polyflow.x" in line and "slow query" in line and "table=stock_moves" in line
    assert not line.startswith("{")
