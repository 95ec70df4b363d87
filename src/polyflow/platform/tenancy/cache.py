"""Route cache: in-process TTL/LRU -> Redis -> main database, with pub/sub invalidation.

- A hit in process costs a dict lookup; nothing else runs on the hot path.
- Every process keeps the set of routable names (subdomains and custom domains), loaded in one query
  and reloaded periodically; a name outside it is "no such tenant" without any query, so a flood of
  random subdomains never reaches the main database. Invalidated keys join the set at once (a new
  tenant is reachable immediately); after a reset (invalidations may have been missed) the set is
  reloaded at once, at most once a second (the listener reconnects often under a loaded event loop).
  Until the set is first loaded, misses are loaded and cached negatively for a short TTL.
  Concurrent misses for one key share one load.
- A change to a tenant deletes its Redis entry and publishes the keys on a channel; every process
  drops them from its local cache as the message arrives (well under 1 s).
- Redis is optional and allowed to fail: each call has a short timeout, after a failure Redis is
  skipped for a moment, and the listener reconnects with backoff and then clears the local cache
  (invalidations may have been missed while it was away). The local TTL bounds staleness meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict
from typing import Awaitable, Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from polyflow.platform.tenancy.route import TenantRoute

log = logging.getLogger(__name__)

_NEGATIVE = "-"  # Redis marker for "no such tenant"
Loader = Callable[[str], Awaitable[TenantRoute | None]]
NamesLoader = Callable[[], Awaitable[set[str]]]


class RouteCache:
    def __init__(
        self,
        loader: Loader,
        redis: Redis | None,
        *,
        namespace: str = "polyflow",
        ttl: float = 30.0,
        negative_ttl: float = 5.0,
        maxsize: int = 10_000,
        redis_ttl: int = 300,
        redis_backoff: float = 1.0,
        names: NamesLoader | None = None,
    ):
        self._loader = loader
        self._names_loader = names
        # Routable keys, or None while unknown (not loaded yet, or possibly stale after a reset).
        self._known: frozenset[str] | None = None
        # Keys invalidated since the set was loaded (a tenant created or renamed a moment ago), with when.
        self._known_extra: dict[str, float] = {}
        self._resets = 0  # full clears (missed invalidations): a reload that overlaps one is redone
        self._reload = asyncio.Event()
        self._loaded_at = 0.0
        self.min_reload_gap = 1.0  # seconds between two reloads caused by resets
        self.redis = redis
        self._prefix = f"{namespace}:route:"
        self.channel = f"{namespace}:route-invalidate"
        self.ttl = ttl
        self.negative_ttl = negative_ttl
        self.maxsize = maxsize
        self.redis_ttl = redis_ttl
        self._redis_backoff = redis_backoff
        self._redis_down_until = 0.0
        self._local: OrderedDict[str, tuple[float, TenantRoute | None]] = OrderedDict()
        self._inflight: dict[str, asyncio.Future] = {}
        # Bumped by every invalidation: a load that started before one must not cache its result.
        self._generation = 0
        self.listening = asyncio.Event()
        self.stats = {"hit": 0, "redis": 0, "db": 0, "invalidated": 0, "unknown": 0}

    # -- lookups ------------------------------------------------------------------------------
    def may_exist(self, key: str) -> bool | None:
        """Whether ``key`` may route: False if surely not (no query needed), None if the set is not known.

        The set is only trusted while invalidations reach this process (Redis configured and its
        listener connected): without them a tenant created by another process (the CLI, another
        worker) would stay unknown here until the next reload, so a name outside the set is looked
        up (negative cache and the per-client unknown-host budget still bound a flood)."""
        if self._known is None:
            return None
        if key in self._known or key in self._known_extra:
            return True
        if self.redis is None or not self.listening.is_set():
            return None
        return False

    async def get(self, key: str, *, load: bool = True) -> TenantRoute | None:
        """The route of ``key`` (None: no such tenant). ``load=False``: only what is known without a
        query of an unknown name (a client over its unknown-host budget), else None."""
        item = self._local.get(key)
        if item is not None and item[0] > time.monotonic():
            self.stats["hit"] += 1
            self._local.move_to_end(key)  # LRU: a busy tenant is never the one pushed out
            return item[1]
        exists = self.may_exist(key)
        if exists is False or (exists is None and not load):
            self.stats["unknown"] += 1
            return None
        fut = self._inflight.get(key)
        if fut is not None:
            return await asyncio.shield(fut)
        fut = asyncio.get_running_loop().create_future()
        self._inflight[key] = fut
        try:
            route = await self._load(key)
        except BaseException as exc:
            fut.set_exception(exc)
            fut.exception()  # mark retrieved: waiters re-raise it, nobody else needs to
            raise
        else:
            fut.set_result(route)
        finally:
            self._inflight.pop(key, None)
        return route

    async def _load(self, key: str) -> TenantRoute | None:
        generation = self._generation
        found, route = await self._redis_get(key)
        if found:
            self.stats["redis"] += 1
        else:
            self.stats["db"] += 1
            route = await self._loader(key)
            if generation == self._generation:
                await self._redis_set(key, route)
        if generation == self._generation:
            self._store(key, route)
        return route

    def _store(self, key: str, route: TenantRoute | None) -> None:
        ttl = self.ttl if route is not None else self.negative_ttl
        self._local[key] = (time.monotonic() + ttl, route)
        self._local.move_to_end(key)
        while len(self._local) > self.maxsize:
            self._local.popitem(last=False)

    # -- invalidation -------------------------------------------------------------------------
    def drop_local(self, keys: list[str] | None) -> None:
        """Forget keys in this process (None: everything)."""
        self._generation += 1
        if keys is None:
            self._local.clear()
            # Invalidations may have been missed (a tenant created meanwhile): reload the names soon.
            self._resets += 1
            self._reload.set()
        else:
            now = time.monotonic()
            for key in keys:
                self._local.pop(key, None)
                if isinstance(key, str):
                    self._known_extra[key] = now  # may be new: let the next request look it up
        self.stats["invalidated"] += 1

    async def reload_names(self) -> bool:
        """Load the set of routable names (one query). Returns False if there is no loader."""
        if self._names_loader is None:
            return False
        for _attempt in range(2):
            started, resets = time.monotonic(), self._resets
            self._reload.clear()
            names = frozenset(await self._names_loader())
            if resets == self._resets:
                break  # no reset while loading: the snapshot is at least as new as `started`
        self._loaded_at = time.monotonic()
        # Keys invalidated after the query started may not be in the snapshot: keep them.
        self._known_extra = {k: t for k, t in self._known_extra.items() if t >= started}
        self._known = names
        return True

    async def keep_names(self, interval: float) -> None:
        """Run forever: reload the set of names every ``interval`` seconds, and soon after a reset."""
        if self._names_loader is None:
            return
        delay, failed = 0.2, False
        while True:
            if self._known is not None and not failed:
                try:
                    await asyncio.wait_for(self._reload.wait(), interval)
                    gap = self._loaded_at + self.min_reload_gap - time.monotonic()
                    if gap > 0:
                        await asyncio.sleep(gap)
                except asyncio.TimeoutError:
                    pass
            try:
                await self.reload_names()
                delay, failed = 0.2, False
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # main DB unavailable: lookups fall back to queries (with the TTLs)
                log.warning("loading the routable names failed (%s); retrying", exc)
                failed = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def invalidate(self, keys: list[str]) -> None:
        """A tenant changed: drop it here, in Redis, and (via pub/sub) in every other process."""
        self.drop_local(keys)
        if self.redis is None:
            return
        try:
            await self.redis.delete(*(self._prefix + k for k in keys))
            await self.redis.publish(self.channel, json.dumps(keys))
        except (RedisError, OSError) as exc:
            # Other processes fall back to their local TTL; nothing else to do.
            log.warning("route invalidation not published (Redis unavailable: %s)", exc)
            self._mark_down()

    async def listen(self) -> None:
        """Run forever: apply invalidations published by any process."""
        if self.redis is None:
            return
        delay = 0.2
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                # Messages may have been missed while we were not subscribed.
                self.drop_local(None)
                self.listening.set()
                delay = 0.2
                while True:
                    msg = await pubsub.get_message(timeout=5.0)
                    if msg is None:
                        await pubsub.ping()  # notices a dead connection within seconds
                        continue
                    try:
                        keys = json.loads(msg["data"])
                    except (TypeError, ValueError):
                        keys = None
                    self.drop_local(keys if isinstance(keys, list) else None)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # connection refused/reset, timeouts
                if self.listening.is_set():
                    log.warning("route invalidation listener lost Redis (%s); reconnecting", exc)
                self.listening.clear()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            finally:
                try:
                    await pubsub.aclose()
                except Exception:
                    pass

    # -- Redis helpers ------------------------------------------------------------------------
    def _redis_usable(self) -> bool:
        return self.redis is not None and time.monotonic() >= self._redis_down_until

    def _mark_down(self) -> None:
        self._redis_down_until = time.monotonic() + self._redis_backoff

    async def _redis_get(self, key: str) -> tuple[bool, TenantRoute | None]:
        if not self._redis_usable():
            return False, None
        try:
            raw = await self.redis.get(self._prefix + key)
        except (RedisError, OSError):
            self._mark_down()
            return False, None
        if raw is None:
            return False, None
        if raw in (_NEGATIVE, _NEGATIVE.encode()):
            return True, None
        try:
            return True, TenantRoute.from_json(raw)
        except (TypeError, ValueError, KeyError):
            return False, None  # written by another version: reload

    async def _redis_set(self, key: str, route: TenantRoute | None) -> None:
        if not self._redis_usable():
            return
        try:
            if route is None:
                await self.redis.set(self._prefix + key, _NEGATIVE, ex=max(1, int(self.negative_ttl)))
            else:
                await self.redis.set(self._prefix + key, route.to_json(), ex=self.redis_ttl)
        except (RedisError, OSError):
            self._mark_down()
