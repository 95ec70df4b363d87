"""Database faults, drilled on a PostgreSQL cluster of the test's own (tests/resilience/procs.py) with the app
running as a uvicorn subprocess:

- connect-time and server errors are 503 + Retry-After with a message that says what happened (SQLSTATE
  classes 08, 28, 3D, 53, 57P0x), never a 500, and a dropped database is not "being moved" forever;
- pooled connections killed by a PostgreSQL restart (or pg_terminate_backend) cost no request a 503;
- PostgreSQL restarted under load: no request hangs, only 2xx or 503 + Retry-After, quick recovery, no
  acknowledged write lost.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid

import httpx
import psycopg
import pytest

from tests.resilience.procs import AppProcess, build_main, make_tenants, owner_tokens

PRODUCTS = "/api/v1/products"


def _role(db: str) -> str:
    return '"' + db.replace('"', '""') + '"'


async def _get(app: AppProcess, sub: str, token: str, path: str = PRODUCTS) -> httpx.Response:
    async with app.client(sub, token) as client:
        return await client.get(path)


def _assert_503(response: httpx.Response, *words: str) -> str:
    assert response.status_code == 503, (response.status_code, response.text)
    assert int(response.headers["Retry-After"]) >= 1
    detail = response.json()["detail"]
    for word in words:
        assert word in detail.lower(), (word, detail)
    return detail


def test_connect_time_errors_are_503_with_a_true_message(own_cluster):
    """53300 (role at its connection limit), 28000/28P01 (role may not log in / password rejected), 3D000 (the
    database was dropped vs. moved elsewhere), 57P03 (server shutting down) and a refused connection (08):
    each a 503 + Retry-After that names the cause; a move is retried once the route is fresh."""
    settings = build_main(own_cluster)
    subs = ["conn-limit", "no-login", "bad-pass", "dropped", "moved", "shutting"]
    dbs = make_tenants(settings, subs)
    tokens = owner_tokens(settings, subs)
    app = AppProcess(settings).start()
    try:
        async def drill():
            # Routes resolved and cached in the app; no tenant connection opened yet (an unknown path: 404).
            for sub in subs:
                assert (await _get(app, sub, tokens[sub], "/api/v1/no-such-thing")).status_code == 404

            own_cluster.sql(f"ALTER ROLE {_role(dbs['conn-limit'])} CONNECTION LIMIT 0")
            _assert_503(await _get(app, "conn-limit", tokens["conn-limit"]), "too many connections")

            own_cluster.sql(f"ALTER ROLE {_role(dbs['no-login'])} NOLOGIN")
            _assert_503(await _get(app, "no-login", tokens["no-login"]), "refused")

            own_cluster.sql(f"ALTER ROLE {_role(dbs['bad-pass'])} PASSWORD 'not-the-one-on-record'")
            detail = _assert_503(await _get(app, "bad-pass", tokens["bad-pass"]), "credentials")
            assert "moved" not in detail

            # Dropped outside Polyflow (the registry still names it): missing, and still so on the next request.
            own_cluster.sql(f"DROP DATABASE {_role(dbs['dropped'])} WITH (FORCE)")
            for _ in range(2):
                detail = _assert_503(await _get(app, "dropped", tokens["dropped"]), "missing")
                assert "moved" not in detail

            # A move: the registry names a new database; the app's cached route still the old one.
            old, new = dbs["moved"], dbs["moved"] + "_new"
            own_cluster.sql(f"CREATE DATABASE {_role(new)} TEMPLATE {_role(old)} OWNER {_role(old)}")
            own_cluster.sql("UPDATE tenants SET db_name = %s WHERE subdomain = 'moved'", new,
                            database=settings.database_url.rsplit("/", 1)[1])
            own_cluster.sql(f"DROP DATABASE {_role(old)} WITH (FORCE)")
            _assert_503(await _get(app, "moved", tokens["moved"]), "moved")
            assert (await _get(app, "moved", tokens["moved"])).status_code == 200

            # 57P03: a smart shutdown waits for a session still open; meanwhile new connections are refused.
            held = psycopg.connect(own_cluster.dsn().url("postgresql"), autocommit=True)
            try:
                own_cluster._pg_ctl("-m", "smart", "-W", "stop")
                deadline = time.monotonic() + 10
                while True:
                    try:
                        psycopg.connect(own_cluster.dsn().url("postgresql"), connect_timeout=2).close()
                    except psycopg.OperationalError as exc:
                        if "shutting down" in str(exc):
                            break
                    assert time.monotonic() < deadline, "the server never refused new connections"
                    await asyncio.sleep(0.05)
                _assert_503(await _get(app, "shutting", tokens["shutting"]), "shutting down")
            finally:
                held.close()
            own_cluster.stop("fast")  # the app's pooled sessions would hold a smart shutdown forever
            # Server down (connection refused, class 08 for the client): the same tenant, cached route.
            _assert_503(await _get(app, "shutting", tokens["shutting"]), "cannot be reached")
            own_cluster.start_again()
            assert (await _get(app, "shutting", tokens["shutting"])).status_code == 200

        asyncio.run(asyncio.wait_for(drill(), 90))
        assert "unexpected database error" not in app.log(), app.log()[-4000:]
    finally:
        app.stop()


def test_pooled_connections_killed_by_a_restart_cost_no_request(own_cluster):
    """Warm pools (several connections per tenant), then PostgreSQL restarted (fast, then immediate) and one
    tenant's sessions terminated: every next request on every tenant is served (no 503 for a dead pooled
    connection, whenever it comes)."""
    settings = build_main(own_cluster)
    subs = [f"warm-{i}" for i in range(4)]
    dbs = make_tenants(settings, subs)
    tokens = owner_tokens(settings, subs)
    app = AppProcess(settings, tenant_pool_size=3).start()
    try:
        async def warm():
            # Concurrent requests, so each tenant's pool holds more than one connection.
            answers = await asyncio.gather(*(_get(app, sub, tokens[sub]) for sub in subs for _ in range(3)))
            assert [r.status_code for r in answers] == [200] * len(answers)

        async def every_tenant_served(what: str):
            for round_ in range(3):  # each round checks out a different pooled connection
                answers = await asyncio.gather(*(_get(app, sub, tokens[sub]) for sub in subs))
                assert [r.status_code for r in answers] == [200] * len(subs), (what, round_, [
                    (r.status_code, r.text[:200]) for r in answers])

        async def drill():
            await warm()
            assert own_cluster.connections(dbs[subs[0]]) >= 2
            own_cluster.restart("fast")
            await every_tenant_served("after a fast restart")
            await warm()
            own_cluster.restart("immediate")
            await every_tenant_served("after an immediate restart")
            await warm()
            assert own_cluster.terminate(dbs[subs[1]]) >= 1
            await asyncio.sleep(0.2)  # the app's event loop sees the closed sockets
            await every_tenant_served("after pg_terminate_backend")

        asyncio.run(asyncio.wait_for(drill(), 120))
    finally:
        app.stop()
