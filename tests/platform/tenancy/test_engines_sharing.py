"""Engine cache at scale (issue 14): one idle connection trimmed at a time, one dialect and statement cache
per database server, the counters A samples, and a budget shared by the processes of a node."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import asdict

import asyncpg
import pytest
from sqlalchemy import text

from polyflow.platform.tenancy.engines import BudgetExhausted, TenantEngines
from polyflow.platform.tenancy.nodebudget import NodeBudget


async def _connections(pg_admin, db_names) -> dict[str, int]:
    """Open connections per database (every backend, whoever opened it)."""
    conn = await asyncpg.connect(**pg_admin.asyncpg_kwargs())
    try:
        rows = await conn.fetch("SELECT datname, count(*) AS n FROM pg_stat_activity WHERE datname = ANY($1::text[]) "
                                "GROUP BY datname", list(db_names))
    finally:
        await conn.close()
    return {r["datname"]: r["n"] for r in rows}


async def _routes(platform, make_tenant, n: int, prefix: str = "pt"):
    routes = []
    for i in range(n):
        await make_tenant(f"{prefix}-{i:03d}")
        routes.append(await platform.routes.get(f"sub:{prefix}-{i:03d}"))
    return routes


async def _hold(engines, route, n: int, until: asyncio.Event, ready: asyncio.Event | None = None):
    """n concurrent leases of ``route``, each on its own connection, until ``until`` is set."""
    started = 0

    async def one():
        nonlocal started
        async with engines.lease(route) as engine, engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            started += 1
            if ready is not None and started == n:
                ready.set()
            await until.wait()

    await asyncio.gather(*(one() for _ in range(n)))


async def test_a_full_budget_closes_one_idle_connection_not_a_whole_pool(platform, make_tenant, pg_admin):
    """pt-000 has 3 idle connections and the budget (3) is full: pt-001's request closes ONE of them.

    Before: the whole pool of the least recently used engine was closed (pt-000 kept none)."""
    busy, other = await _routes(platform, make_tenant, 2)
    engines = TenantEngines(decrypt=platform.secrets.decrypt, max_engines=10, pool_size=3, budget=3,
                            wait_seconds=5, idle_seconds=60)
    try:
        release, ready = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(_hold(engines, busy, 3, release, ready))  # three connections at once
        await asyncio.wait_for(ready.wait(), 10)
        release.set()
        await task  # now idle in pt-000's pool
        assert (await _connections(pg_admin, [busy.db_name])).get(busy.db_name) == 3
        async with engines.lease(other) as engine, engine.connect() as conn:
            assert await conn.scalar(text("SELECT current_user")) == other.db_user
        counts = await _connections(pg_admin, [busy.db_name, other.db_name])
        assert counts.get(busy.db_name) == 2  # one closed, two kept
        assert counts.get(other.db_name) == 1
        assert engines.stats["trimmed"] == 1
        assert engines.budget.peak == 3 and engines.open_connections == 3
        # pt-000 is served on its two pooled connections without opening one
        async with engines.lease(busy) as engine, engine.connect() as conn:
            assert await conn.scalar(text("SELECT current_user")) == busy.db_user
        assert engines.stats["trimmed"] == 1
    finally:
        await engines.dispose_all()


async def test_engines_of_one_server_share_the_dialect_and_compiled_statements(platform, make_tenant):
    """The second tenant's engine takes the first one's initialised dialect and statement cache: its first
    connection runs no dialect start-up queries and the same statement is compiled once for both.

    Before: every engine had its own dialect (initialised by queries on its first connection) and its own
    cache (~220 KiB per engine; 1,000 tenants -> 200 MB per process)."""
    from sqlalchemy import select

    from polyflow.erp.models import Product

    one, two = await _routes(platform, make_tenant, 2)
    engines = TenantEngines(decrypt=platform.secrets.decrypt, max_engines=10, pool_size=2, budget=4,
                            wait_seconds=5, idle_seconds=60)
    statement = select(Product.id, Product.sku).order_by(Product.sku).limit(3)
    try:
        async with engines.lease(one) as e1, e1.connect() as c1:
            await c1.execute(statement)
        async with engines.lease(two) as e2, e2.connect() as c2:
            await c2.execute(statement)
            assert await c2.scalar(text("SELECT current_database()")) == two.db_name
        assert e2.sync_engine.dialect is e1.sync_engine.dialect
        assert e1.sync_engine.dialect.server_version_info is not None
        cache = e1.sync_engine.get_execution_options()["compiled_cache"]
        assert e2.sync_engine.get_execution_options()["compiled_cache"] is cache
        before = len(cache)
        async with engines.lease(one) as e1, e1.connect() as c1:
            await c1.execute(statement)
        async with engines.lease(two) as e2, e2.connect() as c2:
            await c2.execute(statement)
        assert len(cache) == before  # compiled once, served to both tenants from the cache
    finally:
        await engines.dispose_all()


async def test_counters_for_metrics(platform, make_tenant):
    """stats: created, disposed, trimmed, waits, refused (what A samples for Prometheus)."""
    one, two = await _routes(platform, make_tenant, 2)
    engines = TenantEngines(decrypt=platform.secrets.decrypt, max_engines=10, pool_size=1, budget=1,
                            wait_seconds=0.3, idle_seconds=60)
    try:
        async with engines.lease(one) as e1, e1.connect() as c1:
            await c1.execute(text("SELECT 1"))
            with pytest.raises(BudgetExhausted):
                async with engines.lease(two):
                    pass
        assert engines.stats == {"created": 2, "disposed": 0, "trimmed": 0, "waits": 1, "refused": 1}
        async with engines.lease(two) as e2, e2.connect() as c2:  # takes pt-000's idle connection's slot
            await c2.execute(text("SELECT 1"))
        await engines.evict(one.id)
        assert engines.stats == {"created": 2, "disposed": 1, "trimmed": 1, "waits": 1, "refused": 1}
    finally:
        await engines.dispose_all()


# -- a budget shared by the processes of a node ------------------------------------------------------
HOLDER = textwrap.dedent("""
    import asyncio, json, sys
    from polyflow.kit.crypto import SecretBox
    from polyflow.platform.tenancy.engines import TenantEngines
    from polyflow.platform.tenancy.nodebudget import NodeBudget
    from polyflow.platform.tenancy.route import TenantRoute
    from sqlalchemy import text
    import uuid

    spec = json.loads(sys.argv[1])
    routes = [TenantRoute(**{**r, "id": uuid.UUID(r["id"])}) for r in spec["routes"]]

    async def main():
        engines = TenantEngines(decrypt=SecretBox(spec["secret"]).decrypt, max_engines=10, pool_size=1,
                                budget=99, wait_seconds=5, idle_seconds=60,
                                node_budget=NodeBudget(spec["path"], spec["limit"]))
        sweeper = asyncio.create_task(engines.run_sweeper())
        release = asyncio.Event()
        started = []

        async def hold(route):  # one connection each: busy until told (spec["busy"]), else idle in its pool
            async with engines.lease(route) as engine, engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
                started.append(route)
                if spec["busy"]:
                    await release.wait()

        tasks = [asyncio.create_task(hold(r)) for r in routes]
        while len(started) < len(routes):
            await asyncio.sleep(0.01)
        print("ready", engines.open_connections, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        print("open", engines.open_connections, engines.stats["trimmed"], flush=True)
        release.set()
        await asyncio.gather(*tasks)
        sweeper.cancel()
        await engines.dispose_all()

    asyncio.run(main())
""")


def _route_json(route) -> dict:
    d = asdict(route)
    d["id"] = str(route.id)
    d["entitlements"] = [list(e) for e in d["entitlements"]]
    return d


def _start_holder(tmp_path, settings, routes, limit: int, *, busy: bool) -> subprocess.Popen:
    """Another process of the node: its own TenantEngines on the node budget, one connection per route."""
    spec = {"routes": [_route_json(r) for r in routes], "secret": settings.secret_key.get_secret_value(),
            "path": str(tmp_path / "slots"), "limit": limit, "busy": busy}
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, json.dumps(spec)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    line = proc.stdout.readline()
    assert line.split() == ["ready", str(len(routes))], line
    return proc


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(10)


async def test_node_budget_is_shared_by_processes_and_freed_when_one_dies(tmp_path, platform, make_tenant,
                                                                           pg_admin):
    """Another process holds 3 of the node's 4 slots (busy connections); this process gets
    the 4th and no more (BudgetExhausted, pg_stat_activity at 4). The other process is killed (SIGKILL):
    its slots come back at once (the kernel drops its locks) and this process opens 3 more.

    Before: each process had its own budget, so both together opened 4 + 4."""
    routes = await _routes(platform, make_tenant, 7)
    names = [r.db_name for r in routes]
    holder = _start_holder(tmp_path, platform.settings, routes[:3], limit=4, busy=True)
    engines = TenantEngines(decrypt=platform.secrets.decrypt, max_engines=10, pool_size=1, budget=4,
                            wait_seconds=0.5, idle_seconds=60, node_budget=NodeBudget(tmp_path / "slots", 4))
    try:
        stop, ready = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(_hold(engines, routes[3], 1, stop, ready))
        await asyncio.wait_for(ready.wait(), 10)
        with pytest.raises(BudgetExhausted):
            async with engines.lease(routes[4]):
                pass
        assert sum((await _connections(pg_admin, names)).values()) == 4
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        deadline = time.monotonic() + 10
        while sum((await _connections(pg_admin, names)).values()) > 1 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)  # the killed process's backends notice and exit
        more = asyncio.Event()
        holders = [asyncio.create_task(_hold(engines, r, 1, more)) for r in routes[4:7]]
        while engines.open_connections < 4:
            await asyncio.sleep(0.02)
        assert sum((await _connections(pg_admin, names)).values()) == 4
        more.set()
        stop.set()
        await asyncio.gather(task, *holders)
        assert engines.budget.peak == 4
    finally:
        _stop(holder)
        await engines.dispose_all()


async def test_a_process_waiting_for_the_node_budget_gets_a_peers_idle_connection(tmp_path, platform,
                                                                                      make_tenant, pg_admin):
    """The other process holds all 3 slots with IDLE connections (its requests are over). This process
    waits; the peer sees it waiting and closes one idle connection; the request is served well within the
    budget wait, and the node never shows more than 3 connections.

    Before: an idle connection of another process was never given up until it had been idle for
    engine_idle_seconds (300 s): the request waited and got 503."""
    routes = await _routes(platform, make_tenant, 4)
    names = [r.db_name for r in routes]
    holder = _start_holder(tmp_path, platform.settings, routes[:3], limit=3, busy=False)
    engines = TenantEngines(decrypt=platform.secrets.decrypt, max_engines=10, pool_size=1, budget=3,
                            wait_seconds=5, idle_seconds=60, node_budget=NodeBudget(tmp_path / "slots", 3))
    peak = 0
    watching = True

    async def watch():
        nonlocal peak
        while watching:
            peak = max(peak, sum((await _connections(pg_admin, names)).values()))
            await asyncio.sleep(0.01)

    watcher = asyncio.create_task(watch())
    try:
        started = time.monotonic()
        async with engines.lease(routes[3]) as engine, engine.connect() as conn:
            assert await conn.scalar(text("SELECT current_user")) == routes[3].db_user
        assert time.monotonic() - started < 3
        assert engines.stats["waits"] == 1 and engines.stats["refused"] == 0
        holder.stdin.write("\n")
        holder.stdin.flush()
        line = holder.stdout.readline().split()
        assert line == ["open", "2", "1"], line  # it handed over one idle connection
    finally:
        watching = False
        await watcher
        _stop(holder)
        await engines.dispose_all()
    assert 0 < peak <= 3
