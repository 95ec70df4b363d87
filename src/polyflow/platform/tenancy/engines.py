"""Bounded cache of per-tenant AsyncEngines under a global connection budget.

Design (the seed's "client factory", done right):
- one AsyncEngine per tenant, kept in an LRU of at most ``engine_cache_size`` entries;
- each engine has a small pool (``tenant_pool_size``, no overflow);
- every *open* connection to any tenant database takes a slot of a per-process budget
  (``tenant_connection_budget``). A slot is taken in the engine's connection creator, before the
  connection is opened, and given back by the pool's ``close`` events, so idle pooled connections
  count too and ``pg_stat_activity`` never shows more than the budget;
- when the budget is full, the pooled connections of an idle engine (no lease) are closed, least
  recently used first (the engine object stays cached); a tenant's extra connections only take
  from tenants idle for a while; if nothing can be freed the request waits up to
  ``budget_wait_seconds`` and then gets a clear 503;
- an engine is only disposed while nobody holds a lease on it, so a request never loses its
  connection mid-flight; engines idle for ``engine_idle_seconds`` are disposed by a sweeper.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import OrderedDict
from contextlib import asynccontextmanager
from typing import AsyncIterator, Callable

import asyncpg
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.util import greenlet_spawn

from polyflow.kit.errors import Unavailable
from polyflow.platform.tenancy import pooler
from polyflow.platform.tenancy.route import TenantRoute

log = logging.getLogger(__name__)


class BudgetExhausted(Unavailable):
    pass


def session_limits(settings) -> dict[str, str]:
    """Limits every tenant session runs under, as PostgreSQL settings (milliseconds; "0": none).

    A runaway report (or a transaction left open by a bug) would otherwise hold one of the tenant's
    few pooled connections, and the locks it took, for as long as it likes."""
    return {
        "statement_timeout": str(int(settings.tenant_statement_timeout * 1000)),
        "idle_in_transaction_session_timeout": str(int(settings.tenant_idle_tx_timeout * 1000)),
    }


def role_limits_sql(role: str, settings) -> list[str]:
    """``ALTER ROLE`` statements giving a tenant role the same limits as its sessions' defaults (``role``
    is already quoted), so a connection made outside the app (psql, a script) is held to them too.
    Tools that need longer (pg_dump, pg_restore, migrations) lift them locally in their own session."""
    return [f"ALTER ROLE {role} SET {name} = {value}" for name, value in session_limits(settings).items()]


class ConnectionBudget:
    """Counts open tenant connections (plus slots reserved for leases about to open one)."""

    def __init__(self, limit: int):
        self.limit = limit
        self.used = 0
        self.peak = 0

    def try_acquire(self) -> bool:
        if self.used < self.limit:
            self.used += 1
            self.peak = max(self.peak, self.used)
            return True
        return False

    def release(self) -> None:
        self.used -= 1


class _Entry:
    __slots__ = ("route", "engine", "leases", "active", "connections", "reserved", "last_used")

    def __init__(self, route: TenantRoute):
        self.route = route
        self.engine: AsyncEngine
        self.leases = 0  # units of work holding this engine (admitted or still waiting)
        self.active = 0  # leases admitted to use a connection
        self.connections = 0  # open connections (idle in the pool or checked out)
        self.reserved = 0  # budget slots taken for leases that will open a connection
        self.last_used = time.monotonic()


class TenantEngines:
    """The per-process registry of tenant engines. Use :meth:`lease` to get one."""

    def __init__(
        self,
        *,
        decrypt: Callable[[str], str],
        max_engines: int,
        pool_size: int,
        budget: int,
        wait_seconds: float,
        idle_seconds: float,
        connect_timeout: float = 5.0,
        server_settings: dict[str, str] | None = None,
    ):
        self._decrypt = decrypt
        self.max_engines = max_engines
        self.pool_size = min(pool_size, budget)
        self.budget = ConnectionBudget(budget)
        self.wait_seconds = wait_seconds
        self.idle_seconds = idle_seconds
        self.connect_timeout = connect_timeout
        self.server_settings = dict(server_settings or {})
        self._entries: OrderedDict[uuid.UUID, _Entry] = OrderedDict()
        self._changed = asyncio.Event()  # replaced on every notification; waiters re-check
        self._waiting = 0
        self._disposing: set[asyncio.Task] = set()
        self.steal_after = 1.0  # seconds idle before a tenant's connections serve another's extra ones
        self.created = 0  # engines created over the lifetime (for benchmarks and tests)
        self.trimmed = 0  # pools closed to make room under the budget

    @classmethod
    def from_settings(cls, settings, decrypt: Callable[[str], str]) -> "TenantEngines":
        """Sized by the POLYFLOW_* settings (engine cache, pool, budget, waits)."""
        return cls(
            decrypt=decrypt,
            max_engines=settings.engine_cache_size,
            pool_size=settings.tenant_pool_size,
            budget=settings.tenant_connection_budget,
            wait_seconds=settings.budget_wait_seconds,
            idle_seconds=settings.engine_idle_seconds,
            connect_timeout=settings.tenant_connect_timeout,
            server_settings=session_limits(settings),
        )

    # -- public API -------------------------------------------------------------------------
    @asynccontextmanager
    async def lease(self, route: TenantRoute) -> AsyncIterator[AsyncEngine]:
        """Hold the tenant's engine for a unit of work (a request, a job).

        If the work will need a connection the engine does not have yet, a budget slot is taken
        here, *before* the pool is asked, so a lease never waits for the budget inside the pool
        while its own engine has an idle connection (which would deadlock under a full budget).
        Raises BudgetExhausted (a 503) after ``budget_wait_seconds``.
        """
        entry = self._entry_for(route)
        entry.leases += 1
        admitted = False
        try:
            await self._reserve_if_needed(entry)
            admitted = True
            yield entry.engine
        finally:
            entry.leases -= 1
            if admitted:
                entry.active -= 1
            entry.last_used = time.monotonic()
            if entry.reserved > entry.active:
                # A slot reserved for this lease that no connection used: give it back.
                entry.reserved -= 1
                self.budget.release()
            self._notify()

    @property
    def open_connections(self) -> int:
        return self.budget.used

    def __len__(self) -> int:
        return len(self._entries)

    async def evict(self, tenant_id: uuid.UUID) -> None:
        """Drop a tenant's engine (after a move/suspend); in-flight leases finish on it first."""
        entry = self._entries.pop(tenant_id, None)
        if entry is not None:
            await self._dispose_when_free(entry)

    async def sweep_idle(self) -> int:
        """Dispose engines unused for ``idle_seconds``. Returns how many were disposed."""
        cutoff = time.monotonic() - self.idle_seconds
        stale = [e for e in self._entries.values() if e.leases == 0 and e.last_used < cutoff]
        for entry in stale:
            self._entries.pop(entry.route.id, None)
            await entry.engine.dispose()
        return len(stale)

    async def run_sweeper(self, interval: float | None = None) -> None:
        interval = interval or max(1.0, min(60.0, self.idle_seconds / 2))
        while True:
            await asyncio.sleep(interval)
            try:
                await self.sweep_idle()
            except Exception:  # never let the sweeper die
                log.exception("engine sweeper failed")

    async def dispose_all(self) -> None:
        entries = list(self._entries.values())
        self._entries.clear()
        for entry in entries:
            await entry.engine.dispose()
        if self._disposing:
            await asyncio.gather(*self._disposing, return_exceptions=True)

    # -- internals --------------------------------------------------------------------------
    def _entry_for(self, route: TenantRoute) -> _Entry:
        entry = self._entries.get(route.id)
        if entry is not None and entry.route.fingerprint == route.fingerprint:
            self._entries.move_to_end(route.id)
            return entry
        if entry is not None:
            # The tenant moved or its credentials changed: retire the old engine once free.
            self._entries.pop(route.id)
            self._spawn(self._dispose_when_free(entry))
        entry = _Entry(route)
        entry.engine = self._make_engine(entry)
        self._entries[route.id] = entry
        self.created += 1
        self._trim()
        return entry

    def _trim(self) -> None:
        """Keep at most ``max_engines`` engines: drop the least recently used idle ones."""
        if len(self._entries) <= self.max_engines:
            return
        for tenant_id in list(self._entries):
            if len(self._entries) <= self.max_engines:
                break
            entry = self._entries[tenant_id]
            if entry.leases == 0:
                del self._entries[tenant_id]
                self._spawn(entry.engine.dispose())

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._disposing.add(task)
        task.add_done_callback(self._disposing.discard)

    async def _dispose_when_free(self, entry: _Entry) -> None:
        while entry.leases > 0:
            await asyncio.sleep(0.05)
        await entry.engine.dispose()

    def _make_engine(self, entry: _Entry) -> AsyncEngine:
        route = entry.route

        async def creator():
            if entry.reserved > 0:
                entry.reserved -= 1  # the slot taken by the lease
            else:
                await self._acquire_slot(entry)
            try:
                conn = await asyncpg.connect(
                    **route.dsn(self._decrypt(route.db_password_enc)).asyncpg_kwargs(),
                    timeout=self.connect_timeout,
                    # Through a PgBouncer: no statement cache, only startup parameters it passes on (pooler.py).
                    **pooler.connect_kwargs(route.pooled, {**self.server_settings,
                                                           "application_name": f"polyflow:{route.subdomain}"}),
                )
            except BaseException:
                self.budget.release()
                raise
            entry.connections += 1
            return conn

        engine = create_async_engine(
            "postgresql+asyncpg://",
            **pooler.engine_kwargs(creator, route.pooled),
            pool_size=self.pool_size,
            max_overflow=0,
            pool_timeout=self.wait_seconds,
            pool_pre_ping=False,
        )

        def on_close(*_args) -> None:
            self.budget.release()
            entry.connections -= 1
            self._notify()

        event.listen(engine.sync_engine.pool, "close", on_close)
        event.listen(engine.sync_engine.pool, "close_detached", on_close)

        def on_checkout(_dbapi_connection, record, _proxy) -> None:
            # A PostgreSQL restart or pg_terminate_backend closes pooled connections; asyncpg has seen the EOF, so
            # the check costs no round trip. Replace it, and its older siblings at once (they died with it),
            # before the request runs a statement on it; a server still down then fails the connect: a true 503.
            if record.driver_connection.is_closed():
                raise sa_exc.InvalidatePoolError("pooled connection closed by the server")

        event.listen(engine.sync_engine.pool, "checkout", on_checkout)
        return engine

    def _notify(self) -> None:
        if self._waiting:
            event, self._changed = self._changed, asyncio.Event()
            event.set()

    async def _wait_for_change(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise BudgetExhausted("the server is busy (tenant connection budget exhausted); retry in a moment")
        self._waiting += 1
        try:
            await asyncio.wait_for(self._changed.wait(), min(remaining, 1.0))
        except asyncio.TimeoutError:
            pass
        finally:
            self._waiting -= 1

    async def _reserve_if_needed(self, entry: _Entry) -> None:
        """Admit this lease once a connection is there for it: an open (or reserved) one that no other
        admitted lease uses, or a new budget slot. Leases still waiting do not count against their
        own engine's connections (counting them once made every waiter wait for every other, so a
        tenant whose pool could not grow under a full budget served nothing until the waits ran out).
        """
        deadline = time.monotonic() + self.wait_seconds
        while entry.active >= entry.connections + entry.reserved:
            if entry.connections + entry.reserved >= self.pool_size:
                # The pool is full, so it cannot open another connection: queue in it (FIFO) for one
                # that another lease gives back.
                break
            if self.budget.try_acquire():
                entry.reserved += 1
                break
            # A tenant's first connection may take an idle one from any other tenant; further
            # connections only from tenants idle for a while, else they wait for their own pool.
            # (One busy tenant must not empty everyone else's pools.)
            first = entry.connections + entry.reserved == 0
            if await self._trim_one_idle(entry, min_idle=0.0 if first else self.steal_after):
                continue
            # The pool could grow but the budget is full: asking the pool now would make it open a
            # connection and wait for a slot inside it, even after one of this engine's own
            # connections comes back. Wait here for a lease of this engine to end, or for a slot.
            await self._wait_for_change(deadline)
        entry.active += 1

    async def _acquire_slot(self, requester: _Entry) -> None:
        """Fallback for a connection opened without a reserved slot."""
        deadline = time.monotonic() + self.wait_seconds
        while not self.budget.try_acquire():
            if await self._trim_one_idle(requester):
                continue
            await self._wait_for_change(deadline)

    async def _trim_one_idle(self, requester: _Entry | None, *, min_idle: float = 0.0) -> bool:
        """Close the pooled connections of the least recently used engine that has some but no lease.

        The engine stays cached with its initialised dialect, so its next request pays only a
        connect (about half the cost of a new engine). Its pool is swapped for a fresh one before
        the old one is closed, so nothing can check out from a pool being closed. Returns True once
        connections were actually closed (their budget slots are free again).
        """
        cutoff = time.monotonic() - min_idle
        for entry in self._entries.values():
            if entry is requester or entry.leases or entry.last_used > cutoff:
                continue
            sync_engine = entry.engine.sync_engine
            old_pool = sync_engine.pool
            if old_pool.checkedin() == 0:
                continue  # nothing idle (or another trim is closing it right now)
            sync_engine.pool = old_pool.recreate()  # keeps the event listeners (budget accounting)
            await greenlet_spawn(old_pool.dispose)
            self.trimmed += 1
            return True
        return False
