"""Each defence of the route cache against a lost invalidation, on its own (real Redis, real main database):
a failed DEL/PUBLISH is retried until it lands; a Redis copy older than what the main database said is ignored;
the poll of the main database finds a change no message announced. The drills with every defence at once are
in tests/resilience/test_route_faults.py."""

from __future__ import annotations

import asyncio
import time

from polyflow.platform import provisioning
from polyflow.platform.runtime import Platform
from tests.resilience.procs import OwnRedis

KEY = "sub:pt-abc"


async def test_a_failed_invalidation_is_retried_until_redis_takes_it(make_settings):
    redis = OwnRedis().start()
    platform = None
    try:
        s = make_settings(redis_url=redis.url)
        platform = Platform(s)
        await provisioning.create_tenant(platform, name="ABC", subdomain="pt-abc")
        assert (await platform.routes.get(KEY)).status == "active"
        raw_key = f"{s.redis_namespace}:route:{KEY}"
        assert await platform.redis.get(raw_key) is not None

        redis.pause()
        try:
            await asyncio.wait_for(platform.routes.invalidate([KEY]), 5)
            assert platform.routes.pending_invalidations == 1
            await asyncio.sleep(0.6)  # a few retries fail meanwhile
        finally:
            redis.resume()
        deadline = time.monotonic() + 10
        while platform.routes.pending_invalidations:
            assert time.monotonic() < deadline, "the invalidation never reached Redis"
            await asyncio.sleep(0.05)
        assert platform.routes.stats["invalidation_retries"] >= 1
        assert await platform.redis.get(raw_key) is None
    finally:
        if platform is not None:
            await platform.stop()
        redis.remove()


async def test_an_older_redis_copy_loses_to_a_change_seen_in_the_main_database(make_settings):
    s = make_settings()
    one, other = Platform(s), Platform(s.model_copy(update={"redis_url": None}))
    try:
        await provisioning.create_tenant(one, name="ABC", subdomain="pt-abc")
        active = await one.routes.get(KEY)
        raw_key = f"{s.redis_namespace}:route:{KEY}"
        stale = await one.redis.get(raw_key)
        assert stale is not None and active.version is not None

        # Suspended by a process that cannot reach Redis (no message, no DEL): the old copy stays there.
        await provisioning.set_status(other, "pt-abc", "suspended")
        one.routes.drop_local([KEY])  # as when its local TTL runs out
        assert (await one.routes.get(KEY)).status == "active"  # nothing told it yet: Redis is all it knows

        # The poll of the main database finds the change (and deletes the copy; put it back to see the rule).
        assert await one.routes.poll_changes() == 1
        assert await one.redis.get(raw_key) is None
        await one.redis.set(raw_key, stale, ex=300)
        route = await one.routes.get(KEY)
        assert route.status == "suspended" and route.version > active.version
        assert one.routes.stats["redis_outdated"] == 1
    finally:
        await one.stop()
        await other.stop()
