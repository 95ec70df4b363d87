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
  skipped for a moment, and the listener reconnects with backoff. The local TTL bounds staleness meanwhile.

A status change must win over every cache, whatever fails (a suspension once came back to life when a hung
Redis resumed with the old route still in it). Three defences, each enough on its own in the common case:
- A DEL/PUBLISH that failed is retried in the background (backoff up to 5 s) until it succeeds, a newer
  invalidation of the key succeeds, or the Redis TTL has run out (the copy it targets is gone by itself).
- When the listener (re)connects, every cached route is suspect: the local cache is cleared AND the
  namespace's route keys are deleted from Redis (SCAN + UNLINK). Chosen over a generation number that every
  entry would carry: that needs a second read per Redis lookup (or a cached generation, which is exactly the
  kind of state that goes stale), while a reconnect is rare and the scan is cheap (one key per name).
- Every process polls the main database for tenants changed since its last poll (``poll_changes``, every
  few seconds; the durable record a short-lived CLI process cannot fail to leave) and drops their keys here
  and in Redis. Each route carries its row's ``updated_at`` (``version``): a Redis copy older than the
  newest version this process has seen from the main database is ignored.

The main database may be unreachable longer than any TTL: the last route of each key is kept (bounded like
the cache) and, while loading fails with a connection-class error, served if it was obtained within
``stale_seconds`` (a suspended tenant stays refused: its last route says so; a key invalidated since is not
served stale). The outage is logged once when it starts and once when it ends, never per request.
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

from sqlalchemy.exc import SQLAlchemyError

from polyflow.kit.logs import outage
from polyflow.platform.tenancy.route import TenantRoute

log = logging.getLogger(__name__)

# Errors that mean "the main database cannot be reached" (not "no such tenant"): serve the last known route.
UNREACHABLE = (SQLAlchemyError, OSError, asyncio.TimeoutError)


class RegistryUnavailable(Exception):
    """The main database cannot answer and nothing recent enough is known about this key (a 503)."""


_NEGATIVE = "-"  # Redis marker for "no such tenant"
Loader = Callable[[str], Awaitable[TenantRoute | None]]
NamesLoader = Callable[[], Awaitable[set[str]]]
# since (Unix time or None), margin -> (database now, [(tenant id, version, keys)])
ChangesLoader = Callable[[float | None, float], Awaitable[tuple[float, list[tuple[object, float, list[str]]]]]]
Handler = Callable[[object], None]


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
        changes: ChangesLoader | None = None,
        stale_seconds: float = 900.0,
        registry_backoff: float = 1.0,
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
        self.stats = {"hit": 0, "redis": 0, "db": 0, "invalidated": 0, "unknown": 0, "stale_served": 0,
                      "invalidation_retries": 0, "redis_outdated": 0}
        # Last route of each key, with when it was obtained (wall clock), kept beyond the TTL for outages.
        self._last: OrderedDict[str, tuple[float, TenantRoute]] = OrderedDict()
        self.stale_seconds = stale_seconds
        self._registry_backoff = registry_backoff
        self._registry_down_until = 0.0
        # One per process (kit.logs): a fault logged once when it starts and once when it ends.
        self.registry_outage = outage("tenant-registry", log)
        self._redis_outage = outage("route-invalidation-redis", log)
        # Newest updated_at seen from the main database per tenant id: older Redis copies are ignored.
        self._versions: dict[object, float] = {}
        self._changes_loader = changes
        self._poll_since: float | None = None
        self.poll_margin = 60.0  # seconds: longer than a transaction that changes a tenant row
        # Keys whose Redis DEL/PUBLISH failed, with when it first failed; retried by one background task.
        self._pending: dict[str, float] = {}
        self._retrier: asyncio.Task | None = None
        # Other channels delivered by the same listener (the credential cache): channel -> handler(payload);
        # handler(None) after a reconnect (messages may have been missed).
        self._channels: dict[str, Handler] = {}

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
        if found and route is not None and self._outdated(route):
            self.stats["redis_outdated"] += 1
            found = False
        if found:
            self.stats["redis"] += 1
        else:
            if time.monotonic() < self._registry_down_until:
                return self._stale(key, None)  # failed a moment ago: do not queue every request behind it
            try:
                route = await self._loader(key)
            except UNREACHABLE as exc:
                self._registry_down_until = time.monotonic() + self._registry_backoff
                self.registry_outage.failed("tenant registry (main database) unreachable; serving last known "
                                            "routes for up to %.0f s", self.stale_seconds, exc=exc)
                return self._stale(key, exc)
            self.registry_outage.recovered()
            self.stats["db"] += 1
            if route is not None and route.version is not None:
                self._versions[route.id] = max(route.version, self._versions.get(route.id, route.version))
            if generation == self._generation:
                await self._redis_set(key, route)
        if generation == self._generation:
            self._store(key, route)
            self._remember(key, route)
        return route

    def _outdated(self, route: TenantRoute) -> bool:
        """A Redis copy older than the tenant's newest version this process saw from the main database."""
        seen = self._versions.get(route.id)
        return seen is not None and (route.version is None or route.version < seen)

    def _remember(self, key: str, route: TenantRoute | None) -> None:
        if route is None:
            self._last.pop(key, None)
            return
        self._last[key] = (time.time(), route)
        self._last.move_to_end(key)
        while len(self._last) > self.maxsize:
            self._last.popitem(last=False)

    def _stale(self, key: str, exc: BaseException | None) -> TenantRoute:
        """The last known route of ``key`` while the registry is unreachable, if recent enough (not cached
        locally: the next request after the backoff asks the registry again, so it refreshes on use)."""
        last = self._last.get(key)
        if last is not None and time.time() - last[0] <= self.stale_seconds:
            self.stats["stale_served"] += 1
            return last[1]
        raise RegistryUnavailable(key) from exc

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
                # Changed since: its last route may be exactly what changed (a suspension), never serve it stale.
                self._last.pop(key, None)
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
                self.registry_outage.recovered()
                delay, failed = 0.2, False
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # main DB unavailable: lookups fall back to queries (with the TTLs)
                self.registry_outage.failed("tenant registry (main database) unreachable: loading the "
                                            "routable names failed; retrying", exc=exc)
                failed = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def invalidate(self, keys: list[str]) -> None:
        """A tenant changed: drop it here, in Redis, and (via pub/sub) in every other process."""
        self.drop_local(keys)
        if self.redis is None:
            return
        if await self._publish(keys):
            for key in keys:  # a newer invalidation that got through supersedes a pending retry
                self._pending.pop(key, None)
        else:
            self._defer(keys)

    async def _publish(self, keys: list[str]) -> bool:
        try:
            await self.redis.delete(*(self._prefix + k for k in keys))
            await self.redis.publish(self.channel, json.dumps(keys))
        except (RedisError, OSError) as exc:
            self._redis_outage.failed("route invalidation not delivered to Redis; retrying in the background",
                                      exc=exc, level=logging.WARNING)
            self._mark_down()
            return False
        self._redis_outage.recovered()
        return True

    def _defer(self, keys: list[str]) -> None:
        """Retry a failed DEL/PUBLISH in the background: until then another process may read the old route
        from Redis once its local copy expires (bounded anyway by the main-DB poll and the version check)."""
        now = time.monotonic()
        for key in keys:
            self._pending.setdefault(key, now)
        while len(self._pending) > self.maxsize:  # bounded: the oldest are the closest to expiring in Redis
            self._pending.pop(next(iter(self._pending)))
        if self._retrier is None or self._retrier.done():
            self._retrier = asyncio.create_task(self._retry_pending(), name="route-invalidation-retry")

    async def _retry_pending(self) -> None:
        delay = 0.2
        while self._pending:
            await asyncio.sleep(delay)
            # Past the Redis TTL the copy a retry targets has expired by itself.
            cutoff = time.monotonic() - self.redis_ttl
            for key in [k for k, t in self._pending.items() if t < cutoff]:
                del self._pending[key]
            batch = dict(self._pending)
            if not batch:
                break
            self.stats["invalidation_retries"] += 1
            if await self._publish(list(batch)):
                for key, first in batch.items():
                    if self._pending.get(key) == first:
                        del self._pending[key]
                delay = 0.2
            else:
                delay = min(delay * 2, 5.0)

    @property
    def pending_invalidations(self) -> int:
        return len(self._pending)

    async def flush_pending(self, timeout: float) -> bool:
        """Give failed invalidations up to ``timeout`` seconds to get through (a CLI process about to exit).
        What is still pending after it is left to the other processes' poll of the main database."""
        deadline = time.monotonic() + timeout
        while self._pending and time.monotonic() < deadline:
            if self._retrier is None or self._retrier.done():
                self._retrier = asyncio.create_task(self._retry_pending(), name="route-invalidation-retry")
            await asyncio.sleep(0.05)
        return not self._pending

    async def purge_redis(self) -> int:
        """Delete every route key of this namespace from Redis (SCAN + UNLINK, in batches); returns how many."""
        deleted, batch = 0, []
        async for raw in self.redis.scan_iter(match=self._prefix + "*", count=500):
            batch.append(raw)
            if len(batch) >= 500:
                deleted += await self.redis.unlink(*batch)
                batch.clear()
        if batch:
            deleted += await self.redis.unlink(*batch)
        return deleted

    def subscribe(self, channel: str, handler: Handler) -> None:
        """Deliver messages of another channel through this cache's listener (call before ``listen``).
        ``handler(payload)`` runs for each message, ``handler(None)`` after every (re)connect."""
        self._channels[channel] = handler

    def _reset_all(self) -> None:
        self.drop_local(None)
        for handler in self._channels.values():
            handler(None)

    async def listen(self) -> None:
        """Run forever: apply invalidations published by any process."""
        if self.redis is None:
            return
        delay, connected_once = 0.2, False
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel, *self._channels)
                # Messages may have been missed while we were not subscribed: every cached route is suspect,
                # here and in Redis (a copy a failed DEL left there would outlive our local TTL).
                self._reset_all()
                purged = await self.purge_redis()
                if connected_once:
                    log.warning("route invalidation listener reconnected; local cache cleared, %d Redis "
                                "route copies deleted", purged)
                connected_once = True
                self._redis_outage.recovered()
                self.listening.set()
                delay = 0.2
                while True:
                    msg = await pubsub.get_message(timeout=5.0)
                    if msg is None:
                        await pubsub.ping()  # notices a dead connection within seconds
                        continue
                    channel = msg.get("channel")
                    channel = channel.decode() if isinstance(channel, bytes) else channel
                    try:
                        payload = json.loads(msg["data"])
                    except (TypeError, ValueError):
                        payload = None
                    if channel in self._channels:
                        self._channels[channel](payload)
                        continue
                    self.drop_local(payload if isinstance(payload, list) else None)
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

    # -- the main database as the durable record of changes -----------------------------------
    async def poll_changes(self) -> int:
        """Drop (here and in Redis) the keys of tenants changed in the main database since the last poll, and
        remember their versions. Returns how many tenants were new to this process."""
        if self._changes_loader is None:
            return 0
        now, rows = await self._changes_loader(self._poll_since, self.poll_margin)
        self._poll_since = now
        keys: list[str] = []
        ids = set()
        for tenant_id, version, tenant_keys in rows:
            if self._versions.get(tenant_id, float("-inf")) >= version:
                continue  # seen already (the margin overlaps the previous poll)
            self._versions[tenant_id] = version
            ids.add(tenant_id)
            keys.extend(tenant_keys)
        if not ids:
            return 0
        # Also keys that still map to a changed tenant under an old name (a rename).
        keys.extend(k for k, (_, r) in self._local.items() if r is not None and r.id in ids)
        keys.extend(k for k, (_, r) in self._last.items() if r.id in ids)
        keys = list(dict.fromkeys(keys))
        self.drop_local(keys)
        if self._redis_usable():
            try:
                await self.redis.delete(*(self._prefix + k for k in keys))
            except (RedisError, OSError):
                self._mark_down()  # the version check still ignores those copies
        return len(ids)

    async def keep_polling(self, interval: float) -> None:
        """Run forever: ``poll_changes`` every ``interval`` seconds (logging an outage once)."""
        if self._changes_loader is None:
            return
        while True:
            try:
                await self.poll_changes()
                self.registry_outage.recovered()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.registry_outage.failed("tenant registry (main database) unreachable: polling it for "
                                            "changes failed; retrying", exc=exc)
            await asyncio.sleep(interval)

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
