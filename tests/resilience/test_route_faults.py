"""Fault drills of tenant routing (issue #14): a hung Redis must never undo a suspension, a reconnecting
invalidation listener distrusts every cached route, and a main database that cannot be reached for longer than
the cache TTLs must not take every tenant down.

Real processes: the app is a uvicorn subprocess (tests/resilience/procs.py) with its OWN Redis (paused with
SIGSTOP / resumed with SIGCONT); the main database is this test's own database on the shared cluster, made
unreachable with ALLOW_CONNECTIONS false (the cluster itself keeps running for the other tests). Every wait is
bounded by a deadline."""

from __future__ import annotations

import asyncio
import re
import time

import httpx
import psycopg
import redis

from polyflow.kit.db import PgDsn
from polyflow.platform import provisioning
from polyflow.platform.runtime import Platform
from tests.conftest import _admin_exec
from tests.resilience.procs import AppProcess, make_tenants, owner_tokens

PRODUCT = {"sku": "PP-001", "name": "Polypropylene resin", "unit": "KG"}


_KNOBS = ("route_cache_ttl", "redis_route_ttl", "route_negative_ttl", "route_stale_seconds", "route_poll_seconds")


def _app(settings) -> AppProcess:
    """The app in its own process, with this test's cache settings (procs.settings_env passes only the basics)."""
    return AppProcess(settings, **{k: getattr(settings, k, None) for k in _KNOBS}).start(timeout=90)  # a loaded CI box


def _status(app: AppProcess, sub: str, token: str | None = None, method: str = "GET", path: str = "/api/v1/tenant",
            **kw) -> int:
    headers = {"Host": app.host(sub)}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.request(method, app.base_url + path, headers=headers, timeout=10, **kw).status_code


def _wait_status(app: AppProcess, sub: str, wanted: int, timeout: float, **kw) -> float:
    start = time.monotonic()
    while True:
        got = _status(app, sub, **kw)
        if got == wanted:
            return time.monotonic() - start
        assert time.monotonic() - start < timeout, f"{sub}: still {got} after {timeout} s (wanted {wanted})"
        time.sleep(0.05)


def _suspend(settings, sub: str) -> None:
    """Suspend like `polyflow tenants suspend`: a short-lived process with its own Platform, gone afterwards."""

    async def go():
        cli = Platform(settings)
        try:
            await provisioning.set_status(cli, sub, "suspended")
        finally:
            await cli.stop()  # gives the failed invalidation 2 s, then exits without it

    asyncio.run(asyncio.wait_for(go(), 30))


def test_a_suspension_made_while_redis_hangs_is_not_undone_when_it_resumes(make_settings, own_redis):
    # A short local TTL: the server goes back to Redis soon after Redis resumes (where the old route sat).
    s = make_settings(redis_url=own_redis.url, route_cache_ttl=1.0, redis_route_ttl=300)
    make_tenants(s, ["pt-abc"])
    token = owner_tokens(s, ["pt-abc"])["pt-abc"]
    app = _app(s)
    try:
        assert _status(app, "pt-abc", token, path="/api/v1/products") == 200
        key = f"{s.redis_namespace}:route:sub:pt-abc"
        assert b'"status":"active"' in redis.Redis.from_url(own_redis.url).get(key)  # the copy the drill is about

        own_redis.pause()
        try:
            started = time.monotonic()
            _suspend(s, "pt-abc")  # its DEL/PUBLISH time out; the CLI process is gone before Redis returns
            # The server learns it from the main database once its local copy expires (Redis calls time out).
            _wait_status(app, "pt-abc", 403, timeout=10)
            assert time.monotonic() - started < 15
        finally:
            own_redis.resume()

        # Redis is back with whatever it held. For several local TTLs: refused, reads and writes alike.
        deadline = time.monotonic() + 4
        seen = set()
        while time.monotonic() < deadline:
            seen.add(_status(app, "pt-abc"))
            seen.add(_status(app, "pt-abc", token, path="/api/v1/products"))
            seen.add(_status(app, "pt-abc", token, "POST", "/api/v1/products", json=PRODUCT))
            time.sleep(0.1)
        assert seen == {403}, f"a suspended tenant was served after Redis resumed: {seen}"
        # And no Redis copy says otherwise.
        left = redis.Redis.from_url(own_redis.url).get(key)
        assert left is None or b'"status":"suspended"' in left
    finally:
        app.stop()


def test_a_reconnecting_listener_drops_local_and_redis_copies(make_settings, own_redis):
    s = make_settings(redis_url=own_redis.url, route_cache_ttl=600.0, redis_route_ttl=300)
    make_tenants(s, ["pt-abc"])
    app = _app(s)
    r = redis.Redis.from_url(own_redis.url)
    key = f"{s.redis_namespace}:route:sub:pt-abc"
    try:
        assert _status(app, "pt-abc") == 200
        assert r.get(key) is not None
        # A change no invalidation reports (an operator's UPDATE by hand, a lost message): invisible for now.
        with psycopg.connect(PgDsn.parse(s.database_url).url("postgresql"), autocommit=True) as conn:
            conn.execute("UPDATE tenants SET status = 'suspended' WHERE subdomain = 'pt-abc'")
        assert _status(app, "pt-abc") == 200

        # The listener's connection drops (as when Redis restarts or a proxy cuts it); it reconnects.
        assert r.client_kill_filter(_type="pubsub") >= 1
        deadline = time.monotonic() + 10
        while r.get(key) is not None:  # deleted from Redis by the reconnect, without any request
            assert time.monotonic() < deadline, "the Redis copy survived the listener's reconnect"
            time.sleep(0.05)
        # ... and the local copy is gone too: the next request reads the main database.
        assert _wait_status(app, "pt-abc", 403, timeout=3) < 3
    finally:
        r.close()
        app.stop()


def test_main_database_unreachable_beyond_the_ttls_serves_last_known_routes(make_settings, own_redis, pg_admin):
    # TTLs far below the outage; a stale window the test can see the end of.
    s = make_settings(redis_url=own_redis.url, route_cache_ttl=0.5, redis_route_ttl=1, route_negative_ttl=0.5,
                      route_stale_seconds=6.0)
    make_tenants(s, ["pt-abc", "pt-sus", "pt-cold"])
    tokens = owner_tokens(s, ["pt-abc"])
    asyncio.run(_set_status(s, "pt-sus", "suspended"))
    app = _app(s)
    main_db = PgDsn.parse(s.database_url).database
    try:
        assert _status(app, "pt-abc", tokens["pt-abc"], path="/api/v1/products") == 200
        assert _status(app, "pt-sus") == 403
        before = len(app.log().splitlines())

        _admin_exec(pg_admin, f"ALTER DATABASE {main_db} ALLOW_CONNECTIONS false",
                    f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{main_db}'")
        outage = time.monotonic()
        time.sleep(2.0)  # past the local (0.5 s) and Redis (1 s) TTLs
        statuses: dict[str, set[int]] = {"abc": set(), "write": set(), "sus": set(), "cold": set(), "ghost": set()}
        n = 0
        while time.monotonic() - outage < 4.5:
            statuses["abc"].add(_status(app, "pt-abc", tokens["pt-abc"], path="/api/v1/products"))
            statuses["write"].add(_status(app, "pt-abc", tokens["pt-abc"], "POST", "/api/v1/products",
                                          json={**PRODUCT, "sku": f"PP-{n:03d}"}))
            statuses["sus"].add(_status(app, "pt-sus"))
            statuses["cold"].add(_status(app, "pt-cold"))
            statuses["ghost"].add(_status(app, "ghost"))
            n += 1
        assert statuses == {"abc": {200}, "write": {201}, "sus": {403}, "cold": {503}, "ghost": {404}}, statuses
        # The stale window is counted from when the route was last obtained (just before the outage).
        _wait_status(app, "pt-abc", 503, timeout=6.0)
        assert time.monotonic() - outage < 6.0 + 3

        _admin_exec(pg_admin, f"ALTER DATABASE {main_db} ALLOW_CONNECTIONS true")
        _wait_status(app, "pt-abc", 200, timeout=5)  # refreshed on use once the registry answers again
        assert _status(app, "pt-cold") == 200

        lines = [line for line in app.log().splitlines()[before:] if "polyflow.access" not in line]
        records = [line for line in lines if re.match(r"\d\d:\d\d:\d\d\.\d+ (WARNING|ERROR|CRITICAL) ", line)]
        # One record when the outage starts (with its trace) and one when it ends; never one per request.
        assert len(records) <= 3, "\n".join(records)
        assert any("tenant registry" in line for line in records), "\n".join(lines[-60:])
        assert any("recovered" in line for line in records), "\n".join(records)
        # One trace (its chained causes included), not one per request.
        assert sum("Traceback (most recent call last)" in line for line in lines) <= 4, "\n".join(lines[-60:])
        assert n >= 2  # the loop did run requests during the outage (a trace per request before the fix)
    finally:
        _admin_exec(pg_admin, f"ALTER DATABASE {main_db} ALLOW_CONNECTIONS true")
        app.stop()


async def _set_status(settings, sub: str, status: str) -> None:
    platform = Platform(settings)
    try:
        await provisioning.set_status(platform, sub, status)
    finally:
        await platform.stop()
