"""/readyz tells a load balancer the truth: main database answering and migrated, Redis answering when
configured, start-up done and shutdown not begun; and it says which check failed."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import httpx
import psycopg
import pytest

from polyflow.platform import migrate
from polyflow.platform.localpg import free_port
from tests.fixtures.services import RedisServer
from tests.platform.test_logging import JsonServer


async def ready(live, timeout: float = 10) -> httpx.Response:
    async with asyncio.timeout(timeout), live.client("localhost") as c:
        return await c.get("/readyz")


def set_main_revision(settings, revision: str | None) -> None:
    """Write the main database's Alembic version row as an older (or newer) code would have left it."""
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute("DELETE FROM alembic_version")
        if revision is not None:
            conn.execute("INSERT INTO alembic_version (version_num) VALUES (%s)", (revision,))


async def test_ready_on_a_healthy_platform(live):
    r = await ready(live)
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "lifecycle": "ok", "main_db": "ok", "migrations": "ok", "redis": "ok"}
    assert r.headers["cache-control"] == "no-store"


async def test_not_ready_when_the_main_database_is_unreachable(make_settings, make_live):
    # A port nobody listens on (the shared cluster is never stopped): connections are refused.
    settings = make_settings(database_url=f"postgresql://postgres:x@127.0.0.1:{free_port()}/pf_main_gone")
    live = make_live(settings)
    started = time.monotonic()
    r = await ready(live)
    assert time.monotonic() - started < 5  # a probe answers fast, even when the database does not
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "unavailable" and body["main_db"].startswith("error")
    assert body["redis"] == "ok" and "main_db" in body["failing"] and "redis" not in body["failing"]


async def test_not_ready_while_a_configured_redis_is_down_and_ready_again_when_it_is_back(make_settings, make_live):
    redis = RedisServer().start()  # this test's own Redis: the shared one is never stopped
    try:
        redis.stop()
        live = make_live(make_settings(redis_url=redis.url))
        r = await ready(live)
        assert r.status_code == 503
        assert r.json()["redis"].startswith("error") and r.json()["failing"] == ["redis"]
        assert r.json()["main_db"] == "ok"

        redis.start()  # same port
        deadline = time.monotonic() + 15
        while (r := await ready(live)).status_code != 200:
            assert time.monotonic() < deadline, r.json()
            await asyncio.sleep(0.2)
        assert r.json()["redis"] == "ok"
    finally:
        redis.remove()


async def test_not_ready_while_the_main_database_is_behind_the_code(make_settings, make_live):
    head = migrate.head("main")
    previous = migrate.script("main").get_revision(head).down_revision
    settings = make_settings(ready_revision_cache_seconds=0)
    set_main_revision(settings, previous)  # the code was deployed, `polyflow migrate` has not run yet
    live = make_live(settings)

    r = await ready(live)
    assert r.status_code == 503 and r.json()["failing"] == ["migrations"]
    assert r.json()["migrations"].startswith(f"behind: main database at {previous}, code needs {head}")
    assert r.json()["main_db"] == "ok"

    set_main_revision(settings, None)  # never migrated
    r = await ready(live)
    assert r.status_code == 503 and r.json()["migrations"].startswith("not migrated")

    # Newer code migrated it (a rolling deploy): this process still serves.
    set_main_revision(settings, "ffffffffffff")
    assert (await ready(live)).status_code == 200

    set_main_revision(settings, head)
    assert (await ready(live)).status_code == 200


async def test_the_revision_check_is_cached(make_settings, make_live):
    """Probes come every few seconds from every load balancer: the revision is read again only after
    POLYFLOW_READY_REVISION_CACHE_SECONDS (the database itself is asked every time)."""
    settings = make_settings(ready_revision_cache_seconds=60)
    live = make_live(settings)
    assert (await ready(live)).status_code == 200
    set_main_revision(settings, migrate.script("main").get_revision(migrate.head("main")).down_revision)
    assert (await ready(live)).status_code == 200  # the revision read a moment ago


def test_draining_after_sigterm_says_503_while_still_serving(settings, make_tenant_sync):
    """SIGTERM: /readyz answers 503 at once so the load balancer stops sending, requests in the meantime
    are still served, and the process stops POLYFLOW_DRAIN_SECONDS later."""
    make_tenant_sync("pt-abc")
    server = JsonServer(settings, "polyflow.main:app_from_env", POLYFLOW_DRAIN_SECONDS="3")
    try:
        with httpx.Client(base_url=server.url, timeout=10) as c:
            assert c.get("/readyz").status_code == 200
            os.kill(server.proc.pid, signal.SIGTERM)
            sent = time.monotonic()
            deadline = sent + 2
            while (r := c.get("/readyz")).status_code != 503:
                assert time.monotonic() < deadline, r.json()
                time.sleep(0.05)
            assert r.json()["lifecycle"] == "draining" and r.json()["failing"] == ["lifecycle"]
            served = c.get("/api/v1/tenant", headers={"Host": "pt-abc.localhost"})
            assert served.status_code == 200 and served.json()["subdomain"] == "pt-abc"
        assert server.proc.wait(15) == 0 or server.proc.returncode == -signal.SIGTERM
        took = time.monotonic() - sent
        assert 2.5 < took < 15, took
        assert any(line["msg"].startswith("SIGTERM: draining") for line in server.lines())
    finally:
        server.stop()
