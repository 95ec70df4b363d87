"""Migrating one tenant database: the same code in the CLI's worker processes, in-process
(``--concurrency 1``) and in a job on any worker machine.

    connect as the tenant's role (psycopg, sync, in a worker thread; nothing is kept)
    BEGIN
      pg_advisory_xact_lock(MIGRATION_LOCK)       one migrator per tenant database, across processes and
                                                  machines; a second one waits here, then finds it done
      alembic_version == target?  -> skipped (registry repaired if it lagged), nothing else touched
      main DB: tenants.migrating_until = now() + lease, row `running`; invalidate the route
                                                  (requests get 503 + Retry-After instead of waiting on
                                                  locks or seeing a half-migrated schema)
      alembic upgrade to the target               renew the lease every lease/3 s while it runs
    COMMIT                                        all of it, or (on any error) none of it
    main DB: schema_revision = new, migrating_until = NULL, row `migrated`; invalidate the route
on failure: ROLLBACK (the tenant is exactly at its old revision), lease cleared, row `failed` + error

The registry is only updated if the tenant still lives in the database we migrated (a move or a
restore switches it); a migrator that dies leaves at most a lease that expires by itself.

Why the tenant side is synchronous: a migration is dominated by per-connection costs, and the async
stack (a fresh SQLAlchemy async engine + asyncpg, which prepares every statement) cost about 50
round trips and 19 ms of Python per tenant, twice the work of a plain psycopg connection reused
through one engine per server. The steps run one at a time in a thread (`_TenantDB` holds the
connection between them), so the orchestration and the bookkeeping stay on the event loop, shared
by the worker processes, the in-process loop and the job worker.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Callable, TypeVar

import psycopg
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from polyflow.kit.errors import Conflict
from polyflow.platform import migrate
from polyflow.platform.fleet.selection import TenantTarget
from polyflow.platform.tenancy.engines import session_limits

if TYPE_CHECKING:
    from polyflow.platform.runtime import Platform

log = logging.getLogger(__name__)

# Advisory lock key taken inside each tenant database (advisory locks are per database, so one
# constant key is one lock per tenant).
MIGRATION_LOCK = zlib.crc32(b"polyflow-tenant-migration") & 0x7FFFFFFF
# How long a migrator waits for another one holding the tenant, and for table locks (a long request
# transaction) before the tenant counts as failed (and is retried by `--retry-failed`).
LOCK_WAIT = "10min"
DDL_LOCK_TIMEOUT = "60s"
# The "being migrated" lease: requests are refused while it runs; renewed every LEASE/3 seconds.
LEASE_SECONDS = 60.0
CONNECT_TIMEOUT = 10


@dataclass
class Outcome:
    """What happened to one tenant (plain data: it crosses process boundaries)."""

    subdomain: str
    status: str  # migrated | skipped | failed
    from_revision: str | None
    to_revision: str | None
    seconds: float
    error: str | None = None
    note: str | None = None  # why it was skipped
    path: str | None = None  # scripted (the rendered SQL, scripted.py) | online (Alembic, this module)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def describe(exc: BaseException) -> str:
    """One readable error: the PostgreSQL message and detail, and the statement that failed."""
    if isinstance(exc, DBAPIError):
        orig = exc.orig
        cause = getattr(orig, "__cause__", None) or orig
        name = type(cause).__name__
        message = str(cause).strip()
        message = re.sub(r"^<class '[\w.]+'>:\s*", "", message)
        detail = getattr(cause, "detail", None)
        if detail and detail not in message:
            message += f" DETAIL: {detail}"
        text_ = f"{name}: {' '.join(message.split())}"
        if exc.statement:
            text_ += f" [SQL: {' '.join(str(exc.statement).split())[:300]}]"
        return text_[:4000]
    message = getattr(exc, "message", None) or str(exc)
    return f"{type(exc).__name__}: {message}"[:4000]


# -- the tenant side: one sync connection, driven step by step from the event loop -----------------

T = TypeVar("T")
_EXECUTOR: ThreadPoolExecutor | None = None
_ENGINES: dict[tuple[str, int], Engine] = {}
_ENGINES_LOCK = threading.Lock()
_CONNINFO = threading.local()


def _executor() -> ThreadPoolExecutor:
    global _EXECUTOR
    if _EXECUTOR is None:
        _EXECUTOR = ThreadPoolExecutor(max_workers=8, thread_name_prefix="tenant-migration")
    return _EXECUTOR


async def _in_thread(fn: Callable[..., T], *args) -> T:
    return await asyncio.get_running_loop().run_in_executor(_executor(), fn, *args)


def _connect() -> psycopg.Connection:
    # A migration may run (and wait for its lock) far longer than the request limits the tenant's role
    # carries: lift them for this session only.
    return psycopg.connect(_CONNINFO.value, connect_timeout=CONNECT_TIMEOUT,
                           options="-c statement_timeout=0 -c idle_in_transaction_session_timeout=0")


def _engine(host: str, port: int) -> Engine:
    """One sync engine per database server and process: the dialect initialises once (server version
    and settings), every tenant connection comes from `_connect` (NullPool: nothing is kept)."""
    with _ENGINES_LOCK:
        engine = _ENGINES.get((host, port))
        if engine is None:
            engine = _ENGINES[(host, port)] = create_engine(
                "postgresql+psycopg://", creator=_connect, poolclass=NullPool, use_native_hstore=False)
        return engine


class _TenantDB:
    """The transaction on one tenant database. Steps run in a worker thread, one at a time (a step
    submitted while another runs waits for it: `close` after a cancelled `upgrade` cannot overlap it)."""

    def __init__(self, t: TenantTarget, password: str, role_limits: dict[str, str] | None = None):
        self.t = t
        self.role_limits = role_limits or {}
        self.conninfo = t.dsn_with(password).url("postgresql")
        self.conn = None
        self._use = threading.Lock()

    def open(self) -> str | None:
        """Connect, BEGIN, take the tenant's migration lock, return its revision."""
        with self._use:
            _CONNINFO.value = self.conninfo
            self.conn = _engine(self.t.db_host, self.t.db_port).connect()
            self._apply_role_limits()
            self.conn.begin()
            self.conn.execute(text("SELECT set_config('lock_timeout', :wait, true), pg_advisory_xact_lock(:key)"),
                              {"wait": LOCK_WAIT, "key": MIGRATION_LOCK})
            exists = self.conn.execute(text("SELECT set_config('lock_timeout', :ddl, true), "
                                            "to_regclass('alembic_version') IS NOT NULL"),
                                       {"ddl": DDL_LOCK_TIMEOUT}).one()[1]
            return self._revision() if exists else None

    def _apply_role_limits(self) -> None:
        """Give the tenant's role the current request limits (tenants onboarded before they existed, or
        since changed), committed on their own: a skipped or failed migration keeps them too."""
        if not self.role_limits:
            return
        have = self.conn.execute(text(
            "SELECT setconfig FROM pg_db_role_setting WHERE setdatabase = 0 "
            "AND setrole = (SELECT oid FROM pg_roles WHERE rolname = current_user)")).scalar() or []
        for name, value in self.role_limits.items():
            if f"{name}={value}" not in have:
                # The role may set its own defaults; the name and the value (digits) come from us.
                self.conn.execute(text(f"ALTER ROLE CURRENT_USER SET {name} = {int(value)}"))
        self.conn.commit()

    def _revision(self) -> str | None:
        return self.conn.execute(text("SELECT version_num FROM alembic_version")).scalar()

    def upgrade(self, target: str) -> str | None:
        """Alembic to ``target`` inside the transaction, then COMMIT. Returns the new revision."""
        with self._use:
            migrate.upgrade_sync(self.conn, "tenant", target)
            revision = self._revision()
            self.conn.commit()
            return revision

    def close(self) -> None:
        """Roll back whatever was not committed and disconnect."""
        with self._use:
            if self.conn is not None:
                try:
                    self.conn.close()
                finally:
                    self.conn = None


# -- the main database: lease and records ---------------------------------------------------------------

# One statement each (a CTE updates the registry and upserts the run's row, atomically): the
# bookkeeping runs twice per tenant, so it is kept to one round trip on an autocommit connection.
_LEASE = text("UPDATE tenants SET migrating_until = now() + make_interval(secs => :lease) WHERE id = :tid")
_MARK = text("""
WITH lease AS (
    UPDATE tenants SET migrating_until = now() + make_interval(secs => :lease) WHERE id = :tid RETURNING id
)
INSERT INTO migration_run_tenants (run_id, tenant_id, subdomain, status, from_revision, started_at, worker)
SELECT :run_id, :tid, :sub, 'running', :from_rev, :started, :worker FROM lease
ON CONFLICT ON CONSTRAINT uq_migration_run_tenants_run_tenant DO UPDATE
SET status = 'running', from_revision = excluded.from_revision, started_at = excluded.started_at,
    worker = excluded.worker
""")
# The registry follows only if the tenant still lives in the database we migrated (a move or a
# restore switches it); the lease is cleared whatever happened.
_REGISTRY = """
UPDATE tenants SET
    migrating_until = CASE WHEN :marked THEN NULL ELSE migrating_until END,
    schema_revision = CASE WHEN :set_rev AND server_id = :sid AND db_name = :db THEN :rev ELSE schema_revision END
WHERE id = :tid AND (:marked OR :set_rev)
"""
_FINISH = text(f"""
WITH registry AS ({_REGISTRY} RETURNING id)
INSERT INTO migration_run_tenants (run_id, tenant_id, subdomain, status, from_revision, to_revision, started_at,
                                   finished_at, seconds, error, worker)
VALUES (:run_id, :tid, :sub, :status, :from_rev, :to_rev, :started, now(), :seconds, :error, :worker)
ON CONFLICT ON CONSTRAINT uq_migration_run_tenants_run_tenant DO UPDATE
SET status = excluded.status, from_revision = excluded.from_revision, to_revision = excluded.to_revision,
    started_at = excluded.started_at, finished_at = excluded.finished_at, seconds = excluded.seconds,
    error = excluded.error, worker = excluded.worker
""")


def _autocommit(platform: "Platform"):
    """A main-DB connection whose statements commit on their own (one round trip each)."""
    return platform.main_engine.execution_options(isolation_level="AUTOCOMMIT").connect()


async def _mark(platform: "Platform", t: TenantTarget, run_id: int | None, current: str | None, worker: str,
                started_at: datetime) -> None:
    async with _autocommit(platform) as conn:
        if run_id is None:
            await conn.execute(_LEASE, {"lease": LEASE_SECONDS, "tid": t.tenant_id})
        else:
            await conn.execute(_MARK, {"lease": LEASE_SECONDS, "tid": t.tenant_id, "run_id": run_id,
                                       "sub": t.subdomain, "from_rev": current, "started": started_at,
                                       "worker": worker[:200]})
    await platform.tenant_changed(t.subdomain, list(t.domains), t.tenant_id)


async def _renew(platform: "Platform", t: TenantTarget) -> None:
    """Keep the lease while a long migration runs (a dead migrator stops renewing it)."""
    while True:
        await asyncio.sleep(LEASE_SECONDS / 3)
        try:
            async with _autocommit(platform) as conn:
                await conn.execute(_LEASE, {"lease": LEASE_SECONDS, "tid": t.tenant_id})
            await platform.tenant_changed(t.subdomain, list(t.domains), t.tenant_id)
        except Exception as exc:  # the main DB blinked: the next renewal tries again
            log.warning("renewing the migration lease of %s failed: %s", t.subdomain, exc)


async def _finish(platform: "Platform", t: TenantTarget, run_id: int | None, outcome: Outcome, *,
                  marked: bool, started_at: datetime | None, worker: str) -> None:
    """Record the outcome; the registry gets the revision the database is really at."""
    set_rev = outcome.status != "failed" and outcome.to_revision != t.registry_revision
    params = {"marked": marked, "set_rev": set_rev, "sid": t.server_id, "db": t.db_name,
              "rev": outcome.to_revision, "tid": t.tenant_id}
    async with _autocommit(platform) as conn:
        if run_id is not None:
            await conn.execute(_FINISH, {
                **params, "run_id": run_id, "sub": t.subdomain, "status": outcome.status,
                "from_rev": outcome.from_revision, "to_rev": outcome.to_revision, "started": started_at,
                "seconds": round(outcome.seconds, 4), "worker": worker[:200],
                "error": outcome.error if outcome.status == "failed" else None})
        elif marked or set_rev:
            await conn.execute(text(_REGISTRY), params)
    if marked or set_rev:
        await platform.tenant_changed(t.subdomain, list(t.domains), t.tenant_id)


async def migrate_tenant(platform: "Platform", t: TenantTarget, *, target: str, run_id: int | None,
                         worker: str) -> Outcome:
    """Bring one tenant database to ``target`` in one transaction and record what happened."""
    started = time.perf_counter()
    started_at = datetime.now(timezone.utc)
    outcome = Outcome(t.subdomain, "failed", t.registry_revision, t.registry_revision, 0.0, path="online")
    marked = False
    db: _TenantDB | None = None
    try:
        db = _TenantDB(t, platform.secrets.decrypt(t.db_password_enc), session_limits(platform.settings))
        async with AsyncExitStack() as stack:
            if t.unfinished:
                # Its onboarding may be running (and migrating it): take its lock or leave it alone.
                from polyflow.platform.onboarding import onboarding_lock

                try:
                    await stack.enter_async_context(onboarding_lock(platform, t.subdomain))
                except Conflict:
                    outcome.status, outcome.note = "skipped", "its onboarding is running (it migrates the tenant)"
                    return outcome
            current = await _in_thread(db.open)
            outcome.from_revision = outcome.to_revision = current
            if current == target:
                outcome.status = "skipped"
                outcome.note = "already at the target" + (
                    "" if current == t.registry_revision else " (registry corrected)")
                return outcome
            if current is not None and not migrate.is_known("tenant", current):
                outcome.status, outcome.note = "skipped", f"at {current}, which only newer code knows"
                return outcome
            await _mark(platform, t, run_id, current, worker, started_at)
            marked = True
            renewer = asyncio.create_task(_renew(platform, t))
            try:
                outcome.to_revision = await _in_thread(db.upgrade, target)
            finally:
                renewer.cancel()
            outcome.status = "migrated"
    except Exception as exc:
        outcome.status, outcome.error = "failed", describe(exc)
        outcome.to_revision = outcome.from_revision  # rolled back: exactly where it was
        log.warning("migrating %s failed: %s", t.subdomain, outcome.error)
    finally:
        if db is not None:
            await _in_thread(db.close)  # waits for a step still running (a cancelled run), then rolls back
        outcome.seconds = time.perf_counter() - started
        try:
            await _finish(platform, t, run_id, outcome, marked=marked, started_at=started_at, worker=worker)
        except Exception as exc:  # the main DB is down: the lease expires by itself
            log.error("recording the migration of %s failed: %s", t.subdomain, exc)
            if outcome.status != "failed":
                outcome.note = f"migrated, but recording it failed: {describe(exc)}"
    return outcome
