"""Bounded cache of per-tenant AsyncEngines under a global connection budget.

Design (the seed's "client factory", done right):
- one AsyncEngine per tenant, kept in an LRU of at most ``engine_cache_size`` entries;
- each engine has a small pool (``tenant_pool_size``, no overflow);
- every *open* connection to any tenant database takes a slot of a per-process budget
  (``tenant_connection_budget``). A slot is taken in the engine's connection creator, before the
  connection is opened, and given back by the pool's ``close`` events, so idle pooled connections
  count too and ``pg_stat_activity`` never shows more than the budget;
- the budget is per process, or shared by the processes of a node (``node_connection_budget``:
  nodebudget.py, file locks), so one worker cannot hoard what another needs;
- when the budget is full, ONE idle connection is closed: one of the least recently used engine that
  has some and no lease (the engine stays cached); a tenant's extra connections only take from
  tenants idle for a while; if nothing can be freed the request waits up to ``budget_wait_seconds``
  and then gets a clear 503. With a node budget, a process whose peers wait gives up an idle
  connection when a lease ends (and every ``HANDOVER_SECONDS``);
- every engine of one database server shares one initialised dialect and one compiled-statement
  cache: a tenant's first request (and a reconnect after a trim) costs only the asyncpg connect,
  not the dialect's start-up queries nor compiling the statements again, and 1,000 cached engines
  cost little memory (engines, not dialects, are per tenant);
- an engine is only disposed while nobody holds a lease on it, so a request never loses its
  connection mid-flight; engines idle for ``engine_idle_seconds`` are disposed by a sweeper.

Counters for metrics in ``TenantEngines.stats``: created / disposed (engines), trimmed (idle
connections closed to make room), waits (leases that waited for the budget), refused
(BudgetExhausted raised).
"""

from __future__ import annotations

import asyncio
import contextvars
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
from sqlalchemy.util import LRUCache, greenlet_spawn

from polyflow.kit.errors import Unavailable
from polyflow.platform.tenancy import pooler
from polyflow.platform.tenancy.nodebudget import NodeBudget
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


# Compiled statements kept per database server (shared by its tenants' engines; the key holds the dialect).
COMPILED_CACHE_SIZE = 2000
# How often a process with idle connections looks whether another process of the node waits for a slot.
HANDOVER_SECONDS = 0.05


class ConnectionBudget:
    """Counts open tenant connections (plus slots reserved for leases about to open one)."""

    poll_interval = 1.0  # releases in this process wake waiters; the timeout only re-checks the deadline

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

    def set_waiting(self, waiting: bool) -> None:
        pass  # one process: its waiters are woken by its own releases

    def others_waiting(self) -> bool:
        return False

    def close(self) -> None:
        pass


class _SharedDialect:
    """What the tenant engines of one database server share: the initialised dialect, its per-connection
    set-up (asyncpg codecs) and the compiled-statement cache."""

    __slots__ = ("dialect", "on_connect", "compiled")

    def __init__(self, dialect, url):
        self.dialect = dialect
        setup = dialect.on_connect_url(url)
        self.on_connect = (lambda dbapi_connection, _record: setup(dbapi_connection)) if setup else None
        self.compiled = LRUCache(COMPILED_CACHE_SIZE)


class _Entry:
    __slots__ = ("route", "engine", "leases", "active", "connections", "reserved", "last_used", "trimming")

    def __init__(self, route: TenantRoute):
        self.route = route
        self.engine: AsyncEngine
        self.leases = 0  # units of work holding this engine (admitted or still waiting)
        self.active = 0  # leases admitted to use a connection
        self.connections = 0  # open connections (idle in the pool or checked out)
        self.reserved = 0  # budget slots taken for leases that will open a connection
        self.last_used = time.monotonic()
        self.trimming = False  # a trim is taking one idle connection out of the pool: it must not open one


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
        node_budget: NodeBudget | None = None,
    ):
        self._decrypt = decrypt
        self.max_engines = max_engines
        # A node budget replaces the per-process one (both would only make the smaller one count).
        self.budget = node_budget or ConnectionBudget(budget)
        self.pool_size = min(pool_size, self.budget.limit)
        self.wait_seconds = wait_seconds
        self.idle_seconds = idle_seconds
        self.connect_timeout = connect_timeout
        self.server_settings = dict(server_settings or {})
        self._entries: OrderedDict[uuid.UUID, _Entry] = OrderedDict()
        # Engines that hold at least one open connection, least recently used first: what a trim looks at
        # (at most `budget` of them, where the engines can be thousands).
        self._holding: OrderedDict[_Entry, None] = OrderedDict()
        self._changed = asyncio.Event()  # replaced on every notification; waiters re-check
        self._waiting = 0
        self._handing_over = False  # a hand-over of an idle connection to a peer process is under way
        self._disposing: set[asyncio.Task] = set()
        self.steal_after = 1.0  # seconds idle before a tenant's connections serve another's extra ones
        self._dialects: dict[tuple, _SharedDialect] = {}  # (host, port) -> what its engines share
        # Lifetime counters (metrics, benchmarks, tests): engines created / disposed, idle connections
        # closed to make room under the budget, leases that waited for it, leases refused (503).
        self.stats = {"created": 0, "disposed": 0, "trimmed": 0, "waits": 0, "refused": 0}

    @property
    def created(self) -> int:
        return self.stats["created"]

    @created.setter
    def created(self, value: int) -> None:  # bench/serve.py's engine-per-request baseline counts its own
        self.stats["created"] = value

    @property
    def trimmed(self) -> int:
        return self.stats["trimmed"]

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
            node_budget=NodeBudget.for_settings(settings),
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
            if entry in self._holding:
                self._holding.move_to_end(entry)
            if entry.reserved > entry.active:
                # A slot reserved for this lease that no connection used: give it back.
                entry.reserved -= 1
                self.budget.release()
            self._notify()
            self._hand_over_if_asked()

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
            await self._dispose(entry)
        return len(stale)

    async def run_sweeper(self, interval: float | None = None) -> None:
        interval = interval or max(1.0, min(60.0, self.idle_seconds / 2))
        # With a node budget, a peer process may wait while this one is quiet (no lease ends to notice it).
        handover = (asyncio.create_task(self._handover_loop(), name="engine-handover")
                    if isinstance(self.budget, NodeBudget) else None)
        try:
            while True:
                await asyncio.sleep(interval)
                try:
                    await self.sweep_idle()
                except Exception:  # never let the sweeper die
                    log.exception("engine sweeper failed")
        finally:
            if handover is not None:
                handover.cancel()
                await asyncio.gather(handover, return_exceptions=True)

    async def dispose_all(self) -> None:
        entries = list(self._entries.values())
        self._entries.clear()
        for entry in entries:
            await self._dispose(entry)
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
        self.stats["created"] += 1
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
                self._spawn(self._dispose(entry))

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._disposing.add(task)
        task.add_done_callback(self._disposing.discard)

    async def _dispose_when_free(self, entry: _Entry) -> None:
        while entry.leases > 0:
            await asyncio.sleep(0.05)
        await self._dispose(entry)

    async def _dispose(self, entry: _Entry) -> None:
        self.stats["disposed"] += 1
        await entry.engine.dispose()

    def _make_engine(self, entry: _Entry) -> AsyncEngine:
        route = entry.route

        async def creator():
            if _TRIMMING.get() is not None:
                # A trim (in this task) took a pool slot that holds no connection: it must not open one
                # to close it. (A request of this tenant that started meanwhile connects as usual.)
                raise _NothingIdle()
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
            self._holding[entry] = None
            return conn

        server = (route.db_host, route.db_port)
        shared = self._dialects.get(server)
        engine = create_async_engine(
            "postgresql+asyncpg://",
            **pooler.engine_kwargs(creator, route.pooled),
            pool_size=self.pool_size,
            max_overflow=0,
            pool_timeout=self.wait_seconds,
            pool_pre_ping=False,
            query_cache_size=0,  # the server's shared cache is used (below)
            # Once a dialect of this server is initialised, the engine takes it instead of initialising its
            # own on its first connection (server version, schema, isolation level, ...: queries each time).
            _initialize=shared is None,
        )
        sync_engine = engine.sync_engine
        if shared is not None:
            sync_engine.dialect = shared.dialect
            sync_engine.pool._dialect = shared.dialect
            if shared.on_connect is not None:  # what create_engine would register: per-connection set-up
                event.listen(sync_engine.pool, "connect", shared.on_connect)
            sync_engine.update_execution_options(compiled_cache=shared.compiled)
        else:
            def share_dialect(*_args) -> None:
                # Runs after SQLAlchemy's own first-connect listener: the dialect is initialised now.
                if server not in self._dialects and sync_engine.dialect.server_version_info is not None:
                    self._dialects[server] = _SharedDialect(sync_engine.dialect, sync_engine.url)
                    sync_engine.update_execution_options(compiled_cache=self._dialects[server].compiled)

            event.listen(sync_engine.pool, "connect", share_dialect)

        def on_close(*_args) -> None:
            entry.connections -= 1
            if entry.connections <= 0:
                self._holding.pop(entry, None)
            trim = _TRIMMING.get()
            if trim is not None and not trim.closed:
                # Closed by a trim: its slot stays taken until the close is done, then goes to the lease
                # that asked for it (no other waiter can take it meanwhile, and pg_stat_activity never
                # shows the new connection next to the one still closing).
                trim.closed = True
                return
            self.budget.release()
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

    async def _wait_for_change(self, deadline: float, *, first: bool) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            self.stats["refused"] += 1
            raise BudgetExhausted("the server is busy (tenant connection budget exhausted); retry in a moment")
        if first:
            self.stats["waits"] += 1
        self._waiting += 1
        self.budget.set_waiting(True)  # a node budget: peers give up an idle connection
        try:
            # A slot another process frees wakes nobody here: a node budget is polled more often.
            await asyncio.wait_for(self._changed.wait(), min(remaining, self.budget.poll_interval))
        except asyncio.TimeoutError:
            pass
        finally:
            self.budget.set_waiting(False)
            self._waiting -= 1

    def _hand_over_if_asked(self) -> None:
        """With a node budget: if another process waits for a slot, close one idle connection of ours."""
        if self._handing_over or self._waiting or self.budget.used == 0 or not self.budget.others_waiting():
            return
        self._handing_over = True

        async def hand_over() -> None:
            try:
                await self._trim_one_idle(None)
            finally:
                self._handing_over = False

        self._spawn(hand_over())

    async def _handover_loop(self) -> None:
        while True:
            await asyncio.sleep(HANDOVER_SECONDS)
            try:
                self._hand_over_if_asked()
            except Exception:  # never let it die
                log.exception("connection hand-over check failed")

    async def _reserve_if_needed(self, entry: _Entry) -> None:
        """Admit this lease once a connection is there for it: an open (or reserved) one that no other
        admitted lease uses, or a new budget slot. Leases still waiting do not count against their
        own engine's connections (counting them once made every waiter wait for every other, so a
        tenant whose pool could not grow under a full budget served nothing until the waits ran out).
        """
        deadline = time.monotonic() + self.wait_seconds
        waited = False
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
                entry.reserved += 1  # the closed connection's slot, handed to this lease
                break
            # The pool could grow but the budget is full: asking the pool now would make it open a
            # connection and wait for a slot inside it, even after one of this engine's own
            # connections comes back. Wait here for a lease of this engine to end, or for a slot.
            await self._wait_for_change(deadline, first=not waited)
            waited = True
        entry.active += 1

    async def _acquire_slot(self, requester: _Entry) -> None:
        """Fallback for a connection opened without a reserved slot."""
        deadline = time.monotonic() + self.wait_seconds
        waited = False
        while not self.budget.try_acquire():
            if await self._trim_one_idle(requester):
                return  # the closed connection's slot is ours
            await self._wait_for_change(deadline, first=not waited)
            waited = True

    async def _trim_one_idle(self, requester: _Entry | None, *, min_idle: float = 0.0) -> bool:
        """Close ONE idle connection: one of the least recently used engine that has some and no lease.

        The engine stays cached (its other connections too), and a reconnect later costs only the
        asyncpg connect (the dialect is shared, see _make_engine). The connection is taken out of the
        pool like any checkout (so nothing else can get it meanwhile) and invalidated. Returns True
        once one was closed; its budget slot then belongs to the caller when there is a ``requester``,
        else it is given back.
        """
        cutoff = time.monotonic() - min_idle
        for entry in list(self._holding):
            if entry is requester or entry.leases or entry.trimming or entry.last_used > cutoff:
                continue
            if entry.connections - entry.active <= 0:
                continue  # nothing idle
            pool = entry.engine.sync_engine.pool
            entry.trimming = True
            trim = _Trim()
            token = _TRIMMING.set(trim)
            try:
                # A pool slot may hold no connection (one closed before): try each once.
                for _ in range(self.pool_size):
                    await greenlet_spawn(_close_one, pool)
                    if trim.closed:
                        break
            finally:
                _TRIMMING.reset(token)
                entry.trimming = False
            if trim.closed:
                self.stats["trimmed"] += 1
                if requester is None:
                    self.budget.release()
                    self._notify()
                return True
        return False


class _Trim:
    __slots__ = ("closed",)

    def __init__(self) -> None:
        self.closed = False  # the pool's close event came: the slot is held for the trim's caller


# The trim under way in this task: its checkout must not open a connection, and the close event of the
# connection it closes keeps the budget slot for it.
_TRIMMING: contextvars.ContextVar[_Trim | None] = contextvars.ContextVar("polyflow_engine_trim", default=None)


class _NothingIdle(Exception):
    """Raised by an engine's connection creator while a trim takes a connection out of its pool."""


def _close_one(pool) -> None:
    """(In a greenlet.) Check out an idle connection from ``pool`` and close it. Nothing happens when
    the pool slot it gets holds no connection (the creator refuses to open one during a trim)."""
    try:
        fairy = pool.connect()
    except (_NothingIdle, sa_exc.InvalidatePoolError):
        return
    fairy.invalidate()  # closes it (the close event marks the trim done)
    fairy.close()  # the pool slot goes back, empty
