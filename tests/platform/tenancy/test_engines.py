"""Per-tenant engine cache: bounded LRU, idle disposal, and the global connection budget."""

import asyncio
import threading

import asyncpg
import pytest
from sqlalchemy import text

from polyflow.platform.tenancy.engines import BudgetExhausted, TenantEngines


async def _tenant_connections(pg_admin) -> int:
    conn = await asyncpg.connect(**pg_admin.asyncpg_kwargs())
    try:
        return await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'polyflow:%' AND pid <> pg_backend_pid()"
        )
    finally:
        await conn.close()


async def test_budget_of_5_with_20_tenants_and_200_round_robin_requests(pg_admin, make_settings, make_live):
    from polyflow.platform import provisioning
    from polyflow.platform.runtime import Platform

    s = make_settings(tenant_connection_budget=5, tenant_pool_size=2, budget_wait_seconds=10)
    setup = Platform(s)
    try:
        subs = [f"pt-{i:03d}" for i in range(20)]
        for sub in subs:
            await provisioning.create_tenant(setup, name=sub, subdomain=sub)
    finally:
        await setup.stop()
    server = make_live(s)

    peak_seen = 0
    stop = asyncio.Event()

    async def watch():
        nonlocal peak_seen
        conn = await asyncpg.connect(**pg_admin.asyncpg_kwargs())
        try:
            while not stop.is_set():
                n = await conn.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'polyflow:%'"
                )
                peak_seen = max(peak_seen, n)
                await asyncio.sleep(0.005)
        finally:
            await conn.close()

    watcher = asyncio.create_task(watch())
    clients = {sub: server.tenant_client(sub) for sub in subs}
    sem = asyncio.Semaphore(20)

    async def one(i: int):
        sub = subs[i % len(subs)]
        async with sem:
            r = await clients[sub].get("/api/v1/products")
        return r.status_code

    try:
        statuses = await asyncio.gather(*(one(i) for i in range(200)))
    finally:
        stop.set()
        await watcher
        for c in clients.values():
            await c.aclose()
    assert statuses == [200] * 200
    assert 0 < peak_seen <= 5
    engines = server.platform.engines
    assert engines.budget.peak <= 5
    assert engines.created >= 20  # every tenant got (at least) one engine: eviction really happened
    assert await _tenant_connections(pg_admin) <= 5


async def test_budget_full_of_busy_connections_is_a_clear_503(platform, make_tenant, make_live):
    await make_tenant("pt-aaa")
    await make_tenant("pt-bbb")
    s = platform.settings.model_copy(update={"tenant_connection_budget": 1, "budget_wait_seconds": 0.5})
    server = make_live(s)
    route_a = await platform.routes.get("sub:pt-aaa")
    held, release = threading.Event(), threading.Event()

    async def hold():
        """On the server's loop: keep pt-aaa's only connection busy until told to stop."""
        async with server.platform.engines.lease(route_a) as engine, engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            held.set()
            while not release.is_set():
                await asyncio.sleep(0.01)

    fut = asyncio.run_coroutine_threadsafe(hold(), server.server_loop)
    assert await asyncio.to_thread(held.wait, 5)
    try:
        async with server.tenant_client("pt-bbb") as c:
            r = await c.get("/api/v1/products")
        assert r.status_code == 503
        assert r.headers["retry-after"] == "1"
        assert "busy" in r.json()["detail"]
    finally:
        release.set()
        await asyncio.wrap_future(fut)
    # Once the busy connection is back in its (idle) pool, it is evicted for the other tenant.
    async with server.tenant_client("pt-bbb") as c:
        assert (await c.get("/api/v1/products")).status_code == 200


async def test_lru_bound_and_idle_sweep(platform, make_tenant):
    routes = []
    for sub in ("pt-one", "pt-two", "pt-three"):
        await make_tenant(sub)
        routes.append(await platform.routes.get(f"sub:{sub}"))
    engines = TenantEngines(decrypt=platform.secrets.decrypt, max_engines=2, pool_size=2, budget=10,
                            wait_seconds=1, idle_seconds=0.05)
    try:
        for route in routes:
            async with engines.lease(route) as engine, engine.connect() as conn:
                assert await conn.scalar(text("SELECT current_user")) == route.db_user
        assert len(engines) == 2  # the least recently used one was disposed
        await asyncio.sleep(0.1)
        assert await engines.sweep_idle() == 2
        assert len(engines) == 0
        await asyncio.sleep(0.05)
        assert engines.open_connections == 0
    finally:
        await engines.dispose_all()


async def test_wait_then_give_up_when_every_engine_is_leased(platform, make_tenant):
    await make_tenant("pt-one")
    await make_tenant("pt-two")
    one, two = await platform.routes.get("sub:pt-one"), await platform.routes.get("sub:pt-two")
    engines = TenantEngines(decrypt=platform.secrets.decrypt, max_engines=10, pool_size=1, budget=1,
                            wait_seconds=0.3, idle_seconds=60)
    try:
        async with engines.lease(one) as e1, e1.connect() as c1:
            await c1.execute(text("SELECT 1"))
            with pytest.raises(BudgetExhausted):
                async with engines.lease(two):
                    pass
            assert engines.open_connections == 1

        # A waiter is served as soon as the holder's engine becomes idle and is evicted.
        async def later_release():
            async with engines.lease(one) as e1, e1.connect() as c1:
                await c1.execute(text("SELECT 1"))
                await asyncio.sleep(0.1)

        engines.wait_seconds = 2
        task = asyncio.create_task(later_release())
        await asyncio.sleep(0.02)
        async with engines.lease(two) as e2, e2.connect() as c2:
            assert await c2.scalar(text("SELECT current_user")) == two.db_user
        await task
        assert engines.budget.peak == 1
    finally:
        await engines.dispose_all()


async def test_more_busy_tenants_than_budget_never_deadlocks(platform, make_tenant):
    """8 tenants, 3 slots, 8 concurrent leases that each run a query: all 80 finish, none waits forever.

    Regression: a lease once waited for budget inside its pool while its own engine got an idle
    connection back (deadlock); later a trim of a pool whose connections were still closing spun
    without yielding (hang).
    """
    routes = []
    for i in range(8):
        await make_tenant(f"pt-{i:03d}")
        routes.append(await platform.routes.get(f"sub:pt-{i:03d}"))
    engines = TenantEngines(decrypt=platform.secrets.decrypt, max_engines=100, pool_size=2, budget=3,
                            wait_seconds=5, idle_seconds=60)
    sem = asyncio.Semaphore(8)

    async def one(i: int) -> str:
        route = routes[i % len(routes)]
        async with sem, engines.lease(route) as engine, engine.connect() as conn:
            return await conn.scalar(text("SELECT current_user"))

    try:
        users = await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(80))), timeout=30)
        assert users == [routes[i % 8].db_user for i in range(80)]
        assert engines.budget.peak <= 3
        assert engines.trimmed > 0
        assert engines.created == 8  # pools were trimmed, engines kept
    finally:
        await engines.dispose_all()


async def test_a_full_budget_lets_each_tenant_queue_on_its_own_connection(platform, make_tenant):
    """Budget = tenants (one connection each, pools that cannot grow), 4 concurrent leases per tenant:
    every lease is served on its tenant's one connection in turn, none times out.

    Regression: waiting leases were counted against their engine's connections, so once a tenant had
    more leases than connections every one of them waited for a slot that could never come, and the
    tenant served nothing until the waits ran out (0 req/s in bench/resolve.py at budget = tenants).
    """
    routes = []
    for i in range(3):
        await make_tenant(f"pt-{i:03d}")
        routes.append(await platform.routes.get(f"sub:pt-{i:03d}"))
    engines = TenantEngines(decrypt=platform.secrets.decrypt, max_engines=10, pool_size=3, budget=3,
                            wait_seconds=2, idle_seconds=60)

    async def one(route) -> str:
        async with engines.lease(route) as engine, engine.connect() as conn:
            await conn.execute(text("SELECT pg_sleep(0.02)"))
            return await conn.scalar(text("SELECT current_user"))

    try:
        # Warm: every tenant holds its one connection, so the budget is full from here on.
        for route in routes:
            await one(route)
        jobs = [one(routes[i % 3]) for i in range(36)]
        users = await asyncio.wait_for(asyncio.gather(*jobs), timeout=20)
        assert users == [routes[i % 3].db_user for i in range(36)]
        assert engines.budget.peak <= 3
    finally:
        await engines.dispose_all()
