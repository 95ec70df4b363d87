"""PgBouncer in transaction mode (Debian's 1.18: no protocol-level prepared statements) in front of a tenant
database server: the real app, with the server registered behind the pooler (`servers.set_pooler`), serves many
concurrent reads and writes with the same statements repeated, every one of them right; and the negative
control: the same engines with asyncpg's and SQLAlchemy's default statement handling fail through the same
pooler, so the pooled settings (tenancy/pooler.py) are what makes it work.

The pooler runs the shipped deploy/pgbouncer/pgbouncer.ini (paths and ports replaced) with a pool of 2 server
connections per database, so the app's 6 client connections per tenant must share them transaction by
transaction: a statement prepared in one transaction is on another server connection in the next.
"""

from __future__ import annotations

import asyncio
import collections
import uuid

import asyncpg
import pytest
from sqlalchemy import text

from polyflow.kit.crypto import SecretBox
from polyflow.kit.db import PgDsn
from polyflow.platform.runtime import Platform
from polyflow.platform.servers import set_pooler
from polyflow.platform.tenancy.engines import TenantEngines, session_limits
from polyflow.platform.tenancy.pooler import POOLED_CONNECT_ARGS
from polyflow.platform.tenancy.route import TenantRoute
from tests.fixtures.auth import tenant_dsn
from tests.fixtures.pgbouncer import PgBouncer
from tests.resilience.procs import AppProcess, OwnCluster, build_main, make_tenants, owner_tokens

SUB = "pt-pooled"
POOL = 2  # server connections per (database, role) in the pooler
CLIENTS, ROUNDS = 10, 5  # concurrent API clients, rounds of (write, read, list) each


@pytest.fixture(scope="module")
def stack():
    """An own cluster with a main database and one tenant, and a PgBouncer in front of the cluster."""
    cluster = OwnCluster().start()
    bouncer = None
    try:
        settings = build_main(cluster)
        db_name = make_tenants(settings, [SUB])[SUB]
        token = owner_tokens(settings, [SUB])[SUB]
        admin = cluster.dsn()
        bouncer = PgBouncer(cluster.port, admin.user, admin.password, default_pool_size=POOL,
                            reserve_pool_size=0).start()
        yield settings, cluster, bouncer, db_name, token
    finally:
        if bouncer is not None:
            bouncer.remove()
        cluster.remove()


def _run(coro, seconds: float):
    async def bounded():
        async with asyncio.timeout(seconds):
            return await coro
    return asyncio.run(bounded())


async def _set_pooler(settings, address):
    platform = Platform(settings)
    try:
        return await set_pooler(platform, "default", address)
    finally:
        await platform.stop()


def test_app_serves_concurrent_reads_and_writes_through_pgbouncer(stack):
    settings, cluster, bouncer, db_name, token = stack
    role = tenant_dsn(settings, SUB)[1].user
    _run(_set_pooler(settings, f"127.0.0.1:{bouncer.port}"), 30)
    # A pool as large as the clients, and a long budget wait: requests queue in PgBouncer (for its 2 server
    # connections), not in the app, whose own 503 under saturation is not what this test looks at.
    app = AppProcess(settings, tenant_pool_size=CLIENTS, tenant_connection_budget=30, tenant_max_inflight=32,
                     budget_wait_seconds=60).start()
    statuses: collections.Counter = collections.Counter()
    created: list[str] = []
    try:
        async def client_loop(i: int) -> None:
            # Correctness, not speed: with 2 server connections for 10 clients a request may queue a while.
            async with app.client(SUB, token, timeout=60) as c:
                for j in range(ROUNDS):
                    # The same few statements over and over, writes and reads mixed, from many clients at once.
                    r = await c.post("/api/v1/products", json={"sku": f"PB-{i}-{j}", "name": f"Pooled {i}/{j}",
                                                               "unit": "kg"})
                    statuses[("write", r.status_code)] += 1
                    if r.status_code == 201:
                        created.append(r.json()["id"])
                        r = await c.get(f"/api/v1/products/{r.json()['id']}")
                        statuses[("read", r.status_code)] += 1
                    r = await c.get("/api/v1/products", params={"limit": 5})
                    statuses[("list", r.status_code)] += 1

        async def load():
            await asyncio.gather(*(client_loop(i) for i in range(CLIENTS)))
            clients = [c for c in bouncer.show("CLIENTS") if c["database"] == db_name]
            servers = [s for s in bouncer.show("SERVERS") if s["database"] == db_name and s["user"] == role]
            return clients, servers

        clients, servers = _run(load(), 240)
    finally:
        app.stop()
    bad = {k: n for k, n in statuses.items() if k[1] >= 400}
    assert not bad, f"{bad}\n{app.log()[-3000:]}"
    assert statuses[("write", 201)] == CLIENTS * ROUNDS and statuses[("read", 200)] == CLIENTS * ROUNDS
    assert statuses[("list", 200)] == CLIENTS * ROUNDS
    # Every acknowledged write is there, once.
    rows = cluster.sql("SELECT count(*), count(DISTINCT id) FROM products WHERE sku LIKE 'PB-%%'", database=db_name)
    assert rows[0] == (len(created), len(created))
    # It really went through the pooler, and the app's connections shared its few server connections.
    stats = {s["database"]: s for s in bouncer.show("STATS")}
    assert int(stats[db_name]["total_xact_count"]) >= 3 * CLIENTS * ROUNDS
    assert len(clients) > POOL >= len(servers) > 0, (clients, servers)


_SETTING = "SELECT setting FROM pg_settings WHERE name = $1"  # milliseconds, as session_limits() gives them


def test_pooled_sessions_keep_role_limits_and_leave_no_statements(stack):
    settings, cluster, bouncer, db_name, _ = stack
    tenant_id, direct = tenant_dsn(settings, SUB)

    async def check():
        # As the app connects through a pooler: no statement_timeout startup parameter (PgBouncer 1.18 refuses
        # it), yet the session has the limits, from the tenant role (ALTER ROLE ... SET at onboarding).
        found = []
        for _ in range(4):
            conn = await asyncpg.connect(host="127.0.0.1", port=bouncer.port, user=direct.user,
                                         password=direct.password, database=db_name, **POOLED_CONNECT_ARGS)
            try:
                found.append((await conn.fetchval(_SETTING, "statement_timeout"),
                              await conn.fetchval(_SETTING, "idle_in_transaction_session_timeout"),
                              await conn.fetchval("SELECT count(*) FROM pg_prepared_statements")))
            finally:
                await conn.close()
        with pytest.raises(asyncpg.PostgresError, match="unsupported startup parameter"):
            await asyncpg.connect(host="127.0.0.1", port=bouncer.port, user=direct.user, password=direct.password,
                                  database=db_name, server_settings=session_limits(settings))
        return found

    found = _run(check(), 30)
    limits = session_limits(settings)
    assert {(t, i) for t, i, _ in found} == {(limits["statement_timeout"],
                                               limits["idle_in_transaction_session_timeout"])}
    # Unnamed statements only: nothing left prepared on the server connections after the load.
    assert {n for _, _, n in found} == {0}


@pytest.mark.parametrize("pooled", [False, True], ids=["default-statements-fail", "pooled-settings-work"])
def test_negative_control_default_statement_handling_breaks_behind_pgbouncer(stack, pooled):
    settings, cluster, bouncer, db_name, _ = stack
    _, direct = tenant_dsn(settings, SUB)
    secrets = SecretBox(settings.secret_key.get_secret_value())
    route = TenantRoute(id=uuid.uuid4(), subdomain=SUB, name=SUB, status="active", db_host="127.0.0.1",
                        db_port=bouncer.port, db_name=db_name, db_user=direct.user,
                        db_password_enc=secrets.encrypt(direct.password), pooled=pooled)
    # No startup parameters at all here, so what differs between the two runs is the statement handling only.
    engines = TenantEngines(decrypt=secrets.decrypt, max_engines=4, pool_size=6, budget=6, wait_seconds=10,
                            idle_seconds=60, server_settings={})
    errors: collections.Counter = collections.Counter()

    async def one(i: int) -> None:
        try:
            async with engines.lease(route) as engine, engine.begin() as conn:
                await conn.execute(text("SELECT count(*) FROM products WHERE sku LIKE :p"), {"p": "PB-%"})
                await conn.execute(text("SELECT id, name FROM products ORDER BY sku LIMIT :n"), {"n": i % 5 + 1})
        except Exception as exc:  # the failure mode is what this test looks at
            errors[str(getattr(exc, "orig", exc)).splitlines()[0][:60]] += 1

    async def load():
        try:
            for _ in range(6):
                await asyncio.gather(*(one(i) for i in range(30)))
        finally:
            await engines.dispose_all()

    _run(load(), 60)
    if pooled:
        assert not errors, errors
    else:
        assert sum(errors.values()) >= 30, errors
        assert all("prepared statement" in e for e in errors), errors
