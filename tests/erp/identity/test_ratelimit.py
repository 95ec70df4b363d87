"""kit/ratelimit.py against a real Redis, and its in-process fallback: with no Redis at all, and with a
Redis that stops (a server of its own, never the session's) and comes back."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from redis.asyncio import BlockingConnectionPool, Redis

from polyflow.kit.ratelimit import RateLimiter, Window
from tests.fixtures.services import RedisServer


def redis_client(url: str, timeout: float = 0.25) -> Redis:
    """A client configured like the platform's (short timeouts, blocking pool)."""
    pool = BlockingConnectionPool.from_url(url, max_connections=10, timeout=timeout * 4, socket_timeout=timeout,
                                           socket_connect_timeout=timeout)
    return Redis(connection_pool=pool)


@pytest.fixture
async def redis(redis_server):
    client = redis_client(redis_server.url)
    yield client
    await client.aclose()


@pytest.fixture
def namespace() -> str:
    return f"rl{uuid.uuid4().hex[:10]}"


@pytest.fixture
def own_redis():
    """A Redis of this test's own, free to be stopped and restarted."""
    server = RedisServer().start()
    yield server
    server.remove()


async def test_counts_in_redis_within_a_fixed_window(redis, namespace):
    limiter = RateLimiter(redis, namespace)
    windows = [await limiter.hit("login:ip:10.0.0.1", 60) for _ in range(3)]
    assert [w.count for w in windows] == [1, 2, 3]
    assert all(58 <= w.retry_after <= 60 for w in windows)
    # Stored under the namespace, with the window as its lifetime.
    key = f"{namespace}:rl:login:ip:10.0.0.1"
    assert await redis.get(key) == b"3" and 58 <= await redis.ttl(key) <= 60

    # peek reads without counting; an unknown key reads as nothing.
    assert (await limiter.peek("login:ip:10.0.0.1")).count == 3
    assert (await limiter.peek("login:ip:10.0.0.1")).count == 3
    assert await limiter.peek("login:ip:10.9.9.9") == Window(0, 0)
    # Other keys and other namespaces count apart; another process (limiter) on the same namespace shares.
    assert (await limiter.hit("login:ip:10.0.0.2", 60)).count == 1
    assert (await RateLimiter(redis, namespace + "x").hit("login:ip:10.0.0.1", 60)).count == 1
    assert (await RateLimiter(redis, namespace).hit("login:ip:10.0.0.1", 60)).count == 4
    assert limiter._local == {}  # nothing counted in process while Redis answers

    await limiter.clear("login:ip:10.0.0.1")
    assert await redis.exists(key) == 0 and await limiter.peek("login:ip:10.0.0.1") == Window(0, 0)
    assert (await limiter.hit("login:ip:10.0.0.1", 60)).count == 1
    assert (await limiter.peek("login:ip:10.0.0.2")).count == 1  # untouched by the clear


async def test_a_window_is_fixed_from_its_first_hit_and_then_starts_over(redis, namespace):
    limiter = RateLimiter(redis, namespace)
    assert await limiter.hit("k", 1) == Window(1, 1)
    # A later hit with a longer window neither extends nor restarts the current one.
    second = await limiter.hit("k", 100)
    assert second.count == 2 and second.retry_after == 1
    assert await redis.ttl(f"{namespace}:rl:k") <= 1
    await asyncio.sleep(1.1)
    assert await limiter.peek("k") == Window(0, 0)
    fresh = await limiter.hit("k", 100)
    assert fresh.count == 1 and 99 <= fresh.retry_after <= 100


async def test_without_redis_it_counts_in_process(namespace):
    limiter = RateLimiter(None, namespace)
    assert [(await limiter.hit("k", 60)).count for _ in range(3)] == [1, 2, 3]
    peek = await limiter.peek("k")
    assert peek.count == 3 and 59 <= peek.retry_after <= 60
    assert (await limiter.peek("k")).count == 3
    assert await limiter.peek("other") == Window(0, 0)
    assert (await RateLimiter(None, namespace).hit("k", 60)).count == 1  # per process (per limiter)
    await limiter.clear("k")
    assert await limiter.peek("k") == Window(0, 0) and (await limiter.hit("k", 60)).count == 1

    # The window ends and the count starts over.
    assert await limiter.hit("short", 1) == Window(1, 1)
    assert (await limiter.hit("short", 1)).count == 2
    await asyncio.sleep(1.05)
    assert await limiter.peek("short") == Window(0, 0)
    assert (await limiter.hit("short", 1)).count == 1


async def test_the_in_process_table_is_bounded_least_recently_hit_first(namespace):
    limiter = RateLimiter(None, namespace, max_local_keys=3)
    for key in ("a", "b", "c"):
        await limiter.hit(key, 60)
    await limiter.hit("a", 60)  # "a" is now the most recent; "b" the oldest
    await limiter.hit("d", 60)
    assert list(limiter._local) == ["c", "a", "d"]
    assert (await limiter.peek("b")).count == 0 and (await limiter.peek("a")).count == 2
    for i in range(100):
        await limiter.hit(f"flood{i}", 60)
    assert len(limiter._local) == 3


async def test_a_stopped_redis_falls_back_to_process_memory_and_back(own_redis, namespace):
    client = redis_client(own_redis.url)
    limiter = RateLimiter(client, namespace)
    try:
        assert (await limiter.hit("login:fail:x", 60)).count == 1
        assert (await limiter.hit("login:fail:x", 60)).count == 2
        own_redis.stop()

        # Throttling goes on, counted in this process, and no call raises or hangs.
        start = time.monotonic()
        counts = [(await limiter.hit("login:fail:x", 60)).count for _ in range(3)]
        assert counts == [1, 2, 3]
        peek = await limiter.peek("login:fail:x")
        assert peek.count == 3 and 59 <= peek.retry_after <= 60
        await limiter.clear("login:fail:x")
        assert await limiter.peek("login:fail:x") == Window(0, 0)
        assert (await limiter.hit("login:fail:x", 60)).count == 1
        assert time.monotonic() - start < 5

        # Redis is back (empty: no persistence): it counts there again.
        own_redis.start()
        assert (await limiter.hit("login:fail:y", 60)).count == 1
        assert (await limiter.hit("login:fail:y", 60)).count == 2
        assert await client.get(f"{namespace}:rl:login:fail:y") == b"2"
        assert "login:fail:y" not in limiter._local
    finally:
        await client.aclose()
