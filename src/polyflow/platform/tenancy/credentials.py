"""Verified credentials cached in process, so a request with a known token does not query its tenant's database
just to learn who is calling (with traffic spread over many tenants that lookup was the one query per request
that a single hot tenant did not pay).

Generic on purpose: the platform does not know what a credential is. The ERP (``erp.identity.auth``) stores
what it verified under (tenant id, SHA-256 of the token) and says when a tenant's identity data changed.

Security rules:
- Only a successful verification is stored (never a refusal), until the earliest of: ``ttl`` seconds, the
  expiry the ERP gives (token/session end, idle end, next "last used" write).
- The tenant id is part of the key: a token is never looked up under another tenant.
- Any change to a tenant's users, tokens, sessions or sign-in policy drops ALL of that tenant's entries, here
  at once and in every other process through Redis pub/sub (well under a second). A lookup that began before
  the change never stores its (possibly outdated) result: each tenant has a generation number, bumped by
  every drop, and a result is stored only if the generation did not move while it was looked up.
- Redis down: the message cannot be delivered, so ``ttl`` bounds how long another process may still accept
  a revoked credential; after the listener reconnects every entry is dropped (messages may have been lost).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections import OrderedDict
from contextvars import ContextVar
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from polyflow.kit.logs import outage

log = logging.getLogger(__name__)


class CredentialCache:
    def __init__(self, redis: Redis | None, *, namespace: str = "polyflow", ttl: float = 10.0,
                 maxsize: int = 20_000):
        self.redis = redis
        self.channel = f"{namespace}:credential-invalidate"
        self.ttl = ttl
        self.maxsize = maxsize
        self._entries: OrderedDict[tuple[uuid.UUID, str], tuple[float, tuple[int, int], Any]] = OrderedDict()
        self._generations: dict[uuid.UUID, int] = {}
        self._epoch = 0  # bumped by a full clear (a reconnect): entries of an older epoch are gone
        self._tasks: set[asyncio.Task] = set()
        self.stats = {"hit": 0, "miss": 0, "invalidated": 0}

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def enabled(self) -> bool:
        return self.ttl > 0

    def _generation(self, tenant_id: uuid.UUID) -> tuple[int, int]:
        return self._epoch, self._generations.get(tenant_id, 0)

    def get(self, tenant_id: uuid.UUID, digest: str) -> Any | None:
        """What was verified for this token of this tenant, or None (then look it up and ``put``)."""
        key = (tenant_id, digest)
        item = self._entries.get(key)
        if item is not None:
            expires, generation, value = item
            if expires > time.monotonic() and generation == self._generation(tenant_id):
                self.stats["hit"] += 1
                return value
            del self._entries[key]
        self.stats["miss"] += 1
        return None

    def generation(self, tenant_id: uuid.UUID) -> tuple[int, int]:
        """Read before a lookup and pass to ``put``: a change that lands meanwhile keeps the result out."""
        return self._generation(tenant_id)

    def put(self, tenant_id: uuid.UUID, digest: str, value: Any, lifetime: float,
            generation: tuple[int, int]) -> None:
        """Store a successful verification for ``min(lifetime, ttl)`` seconds."""
        lifetime = min(lifetime, self.ttl)
        if lifetime <= 0 or generation != self._generation(tenant_id):
            return
        key = (tenant_id, digest)
        self._entries[key] = (time.monotonic() + lifetime, generation, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)

    def drop(self, tenant_id: uuid.UUID | None) -> None:
        """Forget a tenant's credentials in this process (None: everyone's)."""
        self.stats["invalidated"] += 1
        if tenant_id is None:
            self._epoch += 1
            self._entries.clear()
        else:
            self._generations[tenant_id] = self._generations.get(tenant_id, 0) + 1

    def on_message(self, payload: object) -> None:
        """Handler for the pub/sub channel (delivered by the route cache's listener); None: reconnected."""
        if isinstance(payload, str):
            try:
                self.drop(uuid.UUID(payload))
                return
            except ValueError:
                pass
        self.drop(None)

    def tenant_changed(self, tenant_id: uuid.UUID) -> None:
        """A tenant's identity data changed (committed): drop it here now and tell the other processes.
        Callable from synchronous code (an ORM commit hook) inside the event loop."""
        self.drop(tenant_id)
        if self.redis is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (a synchronous script): the other processes' TTL bounds it
        task = loop.create_task(self.publish(tenant_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def publish(self, tenant_id: uuid.UUID) -> bool:
        """Tell every other process to drop the tenant's credentials; False if Redis did not take it."""
        if self.redis is None:
            return False
        failures = outage("credential-invalidation-redis", log)
        try:
            await self.redis.publish(self.channel, json.dumps(tenant_id.hex))
        except (RedisError, OSError) as exc:
            # Other processes keep the credential for at most `ttl` seconds more (and drop all on reconnect).
            failures.failed("credential invalidation not published (Redis unavailable)", exc=exc,
                            level=logging.WARNING)
            return False
        failures.recovered()
        return True

    async def drain(self, timeout: float = 2.0) -> None:
        """Wait for publications in flight (at shutdown)."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)


# The credential cache of the process serving the current request (set by the tenancy middleware), for the
# ERP's commit hook, which has no request at hand.
current_credentials: ContextVar[CredentialCache | None] = ContextVar("polyflow_current_credentials", default=None)
