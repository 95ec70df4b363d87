"""Fair share per tenant inside one process: a cap on the requests of one tenant served at once.

Each tenant has ``max_inflight`` slots. A request beyond them waits in the tenant's own bounded queue
(first come, first served) for at most ``queue_seconds``; when the queue is full or the wait runs out,
that request (and only that tenant's) is refused with 429 and Retry-After. Other tenants never wait
behind it: nothing here is shared between tenants, and no I/O is done (a dict lookup and a counter on
the hot path).

Why in the middleware and not only the connection pool: the pool bounds a tenant's *database* work,
but 200 clients of one tenant would still all be accepted, parsed, authenticated and serialised on
the one event loop every tenant shares, and would queue without bound in the pool.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import Hashable


class Refused(Exception):
    """The tenant has too many requests in progress: answer 429 (with ``retry_after`` seconds)."""

    def __init__(self, reason: str, retry_after: int = 1):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


@dataclass
class _Tenant:
    inflight: int = 0
    waiters: deque[asyncio.Future] = field(default_factory=deque)


class FairShare:
    """Admission per tenant. Use ``async with gate.slot(tenant_id): ...`` around the request."""

    def __init__(self, *, max_inflight: int, queue_size: int, queue_seconds: float):
        self.max_inflight = max_inflight
        self.queue_size = queue_size
        self.queue_seconds = queue_seconds
        self._tenants: dict[Hashable, _Tenant] = {}
        self.refused = 0  # over the lifetime (benchmarks, tests)

    @classmethod
    def from_settings(cls, settings) -> "FairShare":
        return cls(max_inflight=settings.tenant_max_inflight, queue_size=settings.tenant_queue_size,
                   queue_seconds=settings.tenant_queue_seconds)

    def inflight(self, key: Hashable) -> int:
        state = self._tenants.get(key)
        return state.inflight if state else 0

    async def acquire(self, key: Hashable) -> None:
        state = self._tenants.get(key)
        if state is None:
            state = self._tenants[key] = _Tenant()
        if state.inflight < self.max_inflight and not state.waiters:
            state.inflight += 1
            return
        if len(state.waiters) >= self.queue_size or self.queue_seconds <= 0:
            self.refused += 1
            raise Refused("queue full")
        fut = asyncio.get_running_loop().create_future()
        state.waiters.append(fut)
        try:
            # The slot is handed over by `release` (inflight is not decremented in between), so a
            # newcomer can never overtake a request that waited.
            await asyncio.wait_for(asyncio.shield(fut), self.queue_seconds)
        except asyncio.TimeoutError:
            if fut.done() and not fut.cancelled():
                return  # handed a slot just as the wait ran out: use it
            self._give_up(key, state, fut)
            self.refused += 1
            raise Refused("waited too long") from None
        except BaseException:  # the client went away (the request task is cancelled)
            if fut.done() and not fut.cancelled():
                self.release(key)  # pass on the slot it was handed
            else:
                self._give_up(key, state, fut)
            raise

    def _give_up(self, key: Hashable, state: _Tenant, fut: asyncio.Future) -> None:
        fut.cancel()
        try:
            state.waiters.remove(fut)
        except ValueError:
            pass
        self._forget_if_idle(key, state)

    def release(self, key: Hashable) -> None:
        state = self._tenants.get(key)
        if state is None:
            return
        while state.waiters:
            fut = state.waiters.popleft()
            if not fut.done():
                fut.set_result(None)  # the slot goes to the oldest waiter
                return
        state.inflight -= 1
        self._forget_if_idle(key, state)

    def _forget_if_idle(self, key: Hashable, state: _Tenant) -> None:
        if state.inflight <= 0 and not state.waiters and self._tenants.get(key) is state:
            del self._tenants[key]
