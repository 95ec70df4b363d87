"""Soak: mixed reads and writes on 20 tenants through the app (a uvicorn subprocess) while faults are injected —
Redis hung (SIGSTOP) and resumed, PostgreSQL restarted (fast, then immediate: crash recovery), tenants'
sessions killed with pg_terminate_backend. Afterwards every tenant's ledgers agree (the stock ledger checks of
tests/erp, the GL balanced) and every acknowledged write is present exactly once.

Bounded: `--soak-seconds N` (or POLYFLOW_SOAK_SECONDS) sets the load's length, default 40 s."""

from __future__ import annotations

import asyncio
import os
import time

from tests.resilience.procs import (AppProcess, Workload, build_main, check_tenant_books, make_tenants, owner_tokens,
                                    prepare_tenant)

TENANTS = 20


def _soak_seconds(config) -> float:
    # The option exists only when pytest started in or below tests/resilience/ (its conftest adds it).
    value = config.getoption("--soak-seconds", None) or os.environ.get("POLYFLOW_SOAK_SECONDS") or 40
    return max(float(value), 20.0)


def test_soak_with_faults_keeps_every_ledger_and_every_acknowledged_write(own_cluster, own_redis, pytestconfig):
    seconds = _soak_seconds(pytestconfig)
    settings = build_main(own_cluster, redis_url=own_redis.url)
    subs = [f"soak-{i:02d}" for i in range(TENANTS)]
    dbs = make_tenants(settings, subs)
    tokens = owner_tokens(settings, subs)
    app = AppProcess(settings, tenant_connection_budget=40, tenant_pool_size=2).start()
    faults: list[tuple[float, str]] = []
    try:
        async def pause_redis(for_seconds: float):
            own_redis.pause()
            try:
                await asyncio.sleep(for_seconds)
            finally:
                own_redis.resume()

        async def terminate(indexes):
            return sum(own_cluster.terminate(dbs[subs[i]]) for i in indexes)

        # (fraction of the run, what happens)
        schedule = [
            (0.12, "redis paused 3 s", lambda: pause_redis(3)),
            (0.30, "postgresql restarted (fast)", lambda: asyncio.to_thread(own_cluster.restart, "fast")),
            (0.45, "sessions of 3 tenants terminated", lambda: terminate([1, 7, 13])),
            (0.60, "postgresql restarted (immediate: crash recovery)",
             lambda: asyncio.to_thread(own_cluster.restart, "immediate")),
            (0.75, "redis paused 2 s and a tenant's sessions terminated",
             lambda: asyncio.gather(pause_redis(2), terminate([4]))),
        ]

        async def soak():
            await asyncio.gather(*(prepare_tenant(app, sub, tokens[sub]) for sub in subs))
            # Each call bounded at 30 s: above the app's own worst case (budget wait 5 s + connect 5 s + statement
            # limit 15 s), so a call past it hung.
            load = Workload(app, tokens, timeout=30)
            clients = asyncio.create_task(load.run(clients_per_tenant=1, think=0.2))
            start = time.monotonic()
            try:
                for at, what, fault in schedule:
                    await asyncio.sleep(max(0.0, start + at * seconds - time.monotonic()))
                    faults.append((time.monotonic() - start, what))
                    await fault()
                last_fault_over = time.monotonic()
                await asyncio.sleep(max(3.0, start + seconds - time.monotonic()))
            finally:
                load.stop.set()
                await asyncio.wait_for(clients, 30)
            print(f"\nsoak {seconds:.0f} s on {TENANTS} tenants: {len(load.calls)} calls {load.statuses()}, latency "
                  f"p50 {load.latency_p(0.5) * 1000:.0f} ms, p99 {load.latency_p(0.99) * 1000:.0f} ms, max "
                  f"{load.max_latency() * 1000:.0f} ms; {load.acknowledged()} acknowledged writes; faults at "
                  + ", ".join(f"{t:.1f} s {w}" for t, w in faults))
            assert load.failures == [], load.failures[:10]  # no call hung past its timeout or was dropped
            assert load.bad_answers() == [], load.bad_answers()[:10]  # 2xx, 409/422, or 503 + Retry-After
            served = {c[0] for c in load.calls if c[2] > last_fault_over and 200 <= c[1] < 300}
            assert served == set(subs), set(subs) - served  # every tenant recovered
            counts = {}
            for sub in subs:
                counts[sub] = await check_tenant_books(settings, sub, load.acked[sub])
            assert sum(c["movements"] + c["journals"] for c in counts.values()) >= load.acknowledged() > 0

        asyncio.run(asyncio.wait_for(soak(), seconds + 240))
        assert "unexpected database error" not in app.log(), app.log()[-4000:]
    finally:
        app.stop()
