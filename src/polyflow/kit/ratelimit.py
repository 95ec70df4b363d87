"""Fixed-window counters for login throttling and lockouts: Redis first, this process's memory if
Redis is absent or failing.

Redis makes the limits hold across every web process; the in-process fallback keeps them holding
(per process) while Redis is down, so an outage never turns throttling off.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Window:
    count: int  # hits in the current window, this one included
    retry_after: int  # seconds until the window resets


class RateLimiter:
    """`hit(key, window)` counts one event; `peek` reads without counting; `clear` forgets a key."""

    def __init__(self, redis: Redis | None, namespace: str, *, max_local_keys: int = 50_000):
        self.redis = redis
        self.prefix = f"{namespace}:rl:"
        self._local: OrderedDict[str, tuple[int, float]] = OrderedDict()  # key -> (count, window end)
        self._max_local = max_local_keys

    async def hit(self, key: str, window_seconds: int) -> Window:
        if self.redis is not None:
            try:
                pipe = self.redis.pipeline(transaction=True)
                pipe.incr(self.prefix + key)
                pipe.expire(self.prefix + key, window_seconds, nx=True)
                pipe.ttl(self.prefix + key)
                count, _, ttl = await pipe.execute()
                return Window(int(count), max(int(ttl), 1))
            except (RedisError, OSError) as exc:
                log.warning("rate limiter: Redis unavailable (%s); counting in process", exc)
        return self._local_hit(key, window_seconds)

    async def peek(self, key: str) -> Window:
        if self.redis is not None:
            try:
                pipe = self.redis.pipeline(transaction=False)
                pipe.get(self.prefix + key)
                pipe.ttl(self.prefix + key)
                count, ttl = await pipe.execute()
                return Window(int(count or 0), max(int(ttl), 0))
            except (RedisError, OSError) as exc:
                log.warning("rate limiter: Redis unavailable (%s); reading in-process counts", exc)
        now = time.monotonic()
        count, end = self._local.get(key, (0, 0.0))
        if end <= now:
            return Window(0, 0)
        return Window(count, max(int(end - now + 0.999), 1))

    async def clear(self, key: str) -> None:
        self._local.pop(key, None)
        if self.redis is not None:
            try:
                await self.redis.delete(self.prefix + key)
            except (RedisError, OSError) as exc:
                log.warning("rate limiter: Redis unavailable (%s); cleared in process only", exc)

    def _local_hit(self, key: str, window_seconds: int) -> Window:
        now = time.monotonic()
        count, end = self._local.get(key, (0, 0.0))
        if end <= now:
            count, end = 0, now + window_seconds
        count += 1
        self._local[key] = (count, end)
        self._local.move_to_end(key)
        while len(self._local) > self._max_local:
            self._local.popitem(last=False)
        return Window(count, max(int(end - now + 0.999), 1))
