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
import time
from dataclasses import dataclass

import httpx
import psycopg
import pytest

from tests.resilience.procs import AppProcess, OwnCluster, build_main, make_tenants, owner_tokens

PRODUCTS = "/api/v1/products"
SCENARIO_TENANTS = ["conn-limit", "no-login", "bad-pass", "dropped", "moved", "shutting"]
WARM_TENANTS = [f"warm-{i}" for i in range(3)]
LOAD_TENANTS = [f"load-{i}" for i in range(3)]


@dataclass
class Deployment:
    cluster: OwnCluster
    settings: object
    app: AppProcess
    dbs: dict[str, str]
    tokens: dict[str, str]


@pytest.fixture(scope="module")
def deployment():
    """One cluster, main database, app and tenants for this file's drills (each drill has its own tenants; they
    leave the cluster running). Building it once saves two cluster and app start-ups of CI time."""
    cluster = OwnCluster().start()
    try:
        settings = build_main(cluster)
        subs = SCENARIO_TENANTS + WARM_TENANTS + LOAD_TENANTS
        dbs = make_tenants(settings, subs)
        tokens = owner_tokens(settings, subs)
        app = AppProcess(settings, tenant_pool_size=3).start()
        try:
            yield Deployment(cluster, settings, app, dbs, tokens)
        finally:
            app.stop()
    finally:
        cluster.remove()


def _unpack(deployment: Deployment):
    if not deployment.cluster.cluster.running:  # a drill before this one failed with the server stopped
        deployment.cluster.start_again()
    return deployment.cluster, deployment.settings, deployment.app, deployment.dbs, deployment.tokens


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


def test_connect_time_errors_are_503_with_a_true_message(deployment):
    """53300 (role at its connection limit), 28000/28P01 (role may not log in / password rejected), 3D000 (the
    database was dropped vs. moved elsewhere), 57P03 (server shutting down) and a refused connection (08):
    each a 503 + Retry-After that names the cause; a move is retried once the route is fresh."""
    own_cluster, settings, app, dbs, tokens = _unpack(deployment)
    subs = SCENARIO_TENANTS

    async def scenario():
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
        assert (await _get(app, "shutting", tokens["shutting"], "/api/v1/no-such-thing")).status_code == 404  # route fresh
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

    asyncio.run(asyncio.wait_for(scenario(), 90))
    assert "unexpected database error" not in app.log(), app.log()[-4000:]


def test_pooled_connections_killed_by_a_restart_cost_no_request(deployment):
    """Warm pools (several connections per tenant), then PostgreSQL restarted (fast, then immediate) and one
    tenant's sessions terminated: every next request on every tenant is served (no 503 for a dead pooled
    connection, whenever it comes)."""
    own_cluster, settings, app, dbs, tokens = _unpack(deployment)
    subs = WARM_TENANTS

    async def warm():
        # Concurrent requests, so each tenant's pool holds more than one connection.
        answers = await asyncio.gather(*(_get(app, sub, tokens[sub]) for sub in subs for _ in range(3)))
        assert [r.status_code for r in answers] == [200] * len(answers)

    async def every_tenant_served(what: str):
        for round_ in range(3):  # each round checks out a different pooled connection
            answers = await asyncio.gather(*(_get(app, sub, tokens[sub]) for sub in subs))
            assert [r.status_code for r in answers] == [200] * len(subs), (what, round_, [
                (r.status_code, r.text[:200]) for r in answers])

    async def scenario():
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

    asyncio.run(asyncio.wait_for(scenario(), 120))


def test_postgresql_restarted_under_load(deployment):
    """Clients writing and reading on three tenants while PostgreSQL is restarted, fast then immediate (crash
    recovery): every call bounded and none hangs or is dropped, answers only 2xx, a business refusal or 503 +
    Retry-After (never a 500), requests sent once the server is back are served, and every acknowledged write
    is in the books afterwards (which still agree)."""
    own_cluster, settings, app, dbs, tokens = _unpack(deployment)
    subs = LOAD_TENANTS

    from tests.resilience.procs import Workload, check_tenant_books, prepare_tenant

    async def scenario():
        for sub in subs:
            await prepare_tenant(app, sub, tokens[sub])
        load = Workload(app, {sub: tokens[sub] for sub in subs}, timeout=15)
        clients = asyncio.create_task(load.run(clients_per_tenant=2))
        windows = []  # (restart began, server back)
        try:
            for mode in ("fast", "immediate"):
                await asyncio.sleep(2.5)
                began = time.monotonic()
                # pg_ctl waits until the server accepts connections again (after crash recovery).
                await asyncio.to_thread(own_cluster.restart, mode)
                windows.append((began, time.monotonic()))
            await asyncio.sleep(5)
        finally:
            load.stop.set()
            await asyncio.wait_for(clients, 30)
        print(f"\nrestart under load: {len(load.calls)} calls {load.statuses()}, latency p50 "
              f"{load.latency_p(0.5) * 1000:.0f} ms, p99 {load.latency_p(0.99) * 1000:.0f} ms, max "
              f"{load.max_latency() * 1000:.0f} ms; {load.acknowledged()} acknowledged writes; restarts took "
              f"{', '.join(f'{b - a:.1f} s' for a, b in windows)}")
        assert load.failures == [], load.failures[:10]
        assert load.bad_answers() == [], load.bad_answers()[:10]
        assert load.max_latency() < 15
        # Requests sent once pg_ctl said the server was back (plus 0.5 s for the app's event loop to see
        # the closed sockets) and answered before the next restart began: served, no dead pooled
        # connection left to fail them.
        ends = [w[0] for w in windows[1:]] + [float("inf")]
        for (began, back), end in zip(windows, ends):
            failed = [c for c in load.refused_after(back + 0.5) if c[2] + c[3] < end]
            assert failed == [], [(c[0], c[1], round(c[2] - back, 2), round(c[3], 2), c[5]) for c in failed[:8]]
        # Recovered: every tenant served again after the last restart.
        served = {c[0] for c in load.calls if c[2] > windows[-1][1] and 200 <= c[1] < 300}
        assert served == set(subs), served
        assert load.acknowledged() > 0
        for sub in subs:
            await check_tenant_books(settings, sub, load.acked[sub])

    asyncio.run(asyncio.wait_for(scenario(), 150))
    assert "unexpected database error" not in app.log(), app.log()[-4000:]
