"""Route-cache invalidation across app processes through Redis pub/sub, and Redis outages."""

import asyncio
import time

import pytest

from polyflow.platform import provisioning
from polyflow.platform.runtime import Platform
from tests.fixtures.services import RedisServer


async def _wait_for_status(client, wanted: int, timeout: float) -> float:
    """Poll until the response status is `wanted`; return the seconds it took (or fail)."""
    start = time.monotonic()
    while True:
        r = await client.get("/api/v1/tenant")
        if r.status_code == wanted:
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise AssertionError(f"still {r.status_code} after {timeout}s (wanted {wanted}): {r.text}")
        await asyncio.sleep(0.01)


async def _wait_listening(*servers, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not all(s.platform.routes.listening.is_set() for s in servers):
        assert time.monotonic() < deadline, "invalidation listener did not subscribe"
        await asyncio.sleep(0.01)


async def test_suspend_on_one_instance_is_refused_by_another_within_a_second(settings, make_tenant, make_live):
    # A long local TTL: only the invalidation message can make instance 2 notice in time.
    s = settings.model_copy(update={"route_cache_ttl": 600.0})
    one, two = make_live(s), make_live(s)
    await make_tenant("pt-abc")
    await _wait_listening(one, two)
    async with one.tenant_client("pt-abc") as c1, two.tenant_client("pt-abc") as c2:
        assert (await c1.get("/api/v1/tenant")).status_code == 200
        assert (await c2.get("/api/v1/tenant")).status_code == 200  # now cached in instance 2

        # The suspend goes through instance 1's own platform objects (its route cache publishes).
        fut = asyncio.run_coroutine_threadsafe(
            provisioning.set_status(one.platform, "pt-abc", "suspended"), one.server_loop
        )
        await asyncio.wrap_future(fut)
        took = await _wait_for_status(c2, 403, timeout=1.0)
        assert took < 1.0

        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(
            provisioning.set_status(one.platform, "pt-abc", "active"), one.server_loop
        ))
        await _wait_for_status(c2, 200, timeout=1.0)


async def test_redis_down_requests_still_succeed_and_invalidation_recovers(make_settings, make_tenant, make_live):
    redis = RedisServer().start()
    try:
        s = make_settings(redis_url=redis.url, route_cache_ttl=600.0, route_negative_ttl=0.2)
        one, two = make_live(s), make_live(s)
        setup = Platform(s)
        try:
            await provisioning.create_tenant(setup, name="ABC", subdomain="pt-abc")
            await provisioning.create_tenant(setup, name="XYZ", subdomain="pt-xyz")
        finally:
            await setup.stop()
        await _wait_listening(one, two)

        redis.stop()
        started = time.monotonic()
        async with two.tenant_client("pt-abc") as abc, two.tenant_client("pt-xyz") as xyz, \
                two.client("ghost.localhost") as ghost:
            for _ in range(20):
                assert (await abc.get("/api/v1/products")).status_code == 200
                assert (await xyz.get("/api/v1/tenant")).status_code == 200  # loaded from the main DB
                assert (await ghost.get("/api/v1/tenant")).status_code == 404
        # Redis calls fail fast (short timeouts, then skipped for a moment): no request waited long.
        assert time.monotonic() - started < 10
        async with two.client("localhost") as c:
            ready = await c.get("/readyz")
            assert ready.status_code == 503 and ready.json()["redis"].startswith("error")

        redis.start()  # same port
        await _wait_listening(one, two, timeout=15)
        async with two.tenant_client("pt-abc") as c2:
            assert (await c2.get("/api/v1/tenant")).status_code == 200
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(
                provisioning.set_status(one.platform, "pt-abc", "suspended"), one.server_loop
            ))
            assert await _wait_for_status(c2, 403, timeout=1.0) < 1.0
    finally:
        redis.remove()


async def test_without_redis_the_cache_is_local_and_ttl_bounded(make_settings, make_live):
    s = make_settings(redis_url=None, route_cache_ttl=0.3)
    server = make_live(s)
    setup = Platform(s)
    try:
        await provisioning.create_tenant(setup, name="ABC", subdomain="pt-abc")
        async with server.tenant_client("pt-abc") as c:
            # Created by another process: reachable once the server reloads its routable names (as often as
            # a negative entry lives without Redis).
            assert await _wait_for_status(c, 200, timeout=s.route_negative_ttl + 2) < s.route_negative_ttl + 1
            # Changed by another process (no Redis to tell the server): seen once the TTL runs out.
            await provisioning.set_status(setup, "pt-abc", "suspended")
            took = await _wait_for_status(c, 403, timeout=3.0)
            assert took < 1.5
    finally:
        await setup.stop()
