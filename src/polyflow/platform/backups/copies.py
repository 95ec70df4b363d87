"""What moving, restoring, archiving and deleting share: the per-tenant operation lock, freezing a
database read-only, new databases (loaded from a dump, verified as the tenant's own role), the atomic
registry switch and retiring the database it replaced.
"""

from __future__ import annotations

import asyncio
import logging
import secrets as pysecrets
import time
import zlib
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, AsyncIterator, Awaitable, Callable

import asyncpg
from alembic.script import ScriptDirectory
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

import polyflow.erp.models  # noqa: F401  (registers the tenant tables a restore is checked against)
from polyflow.kit.db import PgDsn, TenantBase, quote_ident, quote_literal
from polyflow.kit.errors import Conflict, NotFound, PolyflowError, Unavailable
from polyflow.platform import migrate, pgtools
from polyflow.platform.models import DatabaseServer, PlatformEvent, Tenant
from polyflow.platform.servers import admin_connect
from polyflow.platform.tenancy.engines import role_limits_sql

if TYPE_CHECKING:
    from polyflow.platform.runtime import Platform

log = logging.getLogger(__name__)

Progress = Callable[[str], None] | None
# Statuses whose database exists and can be dumped.
HAS_DATABASE = ("active", "suspended")
# After a registry switch, wait this long before dropping the old database: every process has
# dropped the old route by then (invalidation is published and applied in milliseconds).
SWITCH_GRACE_SECONDS = 1.0
# ...and give requests still running on the old database this long to finish.
DRAIN_SECONDS = 5.0
# Sessions opened before a freeze must be gone within this long.
FREEZE_WAIT_SECONDS = 10.0
_LOCK_CLASS = zlib.crc32(b"polyflow-tenant-operation") & 0x7FFFFFFF


class VerificationFailed(PolyflowError):
    """A restored copy is not what it should be (nothing was switched to it)."""

    status_code = 422


def say(progress: Progress, message: str) -> None:
    if progress is not None:
        progress(message)


def new_ident(subdomain: str) -> str:
    """A fresh database/role name for a tenant (the scheme onboarding uses; at most 49 characters)."""
    return f"t_{subdomain.replace('-', '_')}_{pysecrets.token_hex(3)}"


def event(session: AsyncSession, tenant_id, action: str, actor: str, **detail) -> None:
    session.add(PlatformEvent(tenant_id=tenant_id, actor=actor, action=action, detail=detail))


async def record_event(platform: "Platform", tenant_id, action: str, actor: str, **detail) -> None:
    """An audit event in its own transaction (for failures: the operation's own was rolled back)."""
    try:
        async with AsyncSession(platform.main_engine) as session:
            event(session, tenant_id, action, actor, **detail)
            await session.commit()
    except Exception:
        log.exception("could not record event %s", action)


async def quietly(aw: Awaitable) -> str | None:
    """Await a clean-up step on an error path: its failure is logged and returned, never raised."""
    try:
        await aw
        return None
    except Exception as exc:
        log.warning("clean-up step failed: %s", exc)
        return getattr(exc, "message", None) or str(exc)


@asynccontextmanager
async def on_server(platform: "Platform", server: DatabaseServer, what: str,
                    database: str | None = None) -> AsyncIterator[asyncpg.Connection]:
    """An admin connection for one step; a server-side failure becomes one message naming the step."""
    conn = await admin_connect(server, platform.secrets, database)
    try:
        yield conn
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
        raise Unavailable(f"{what} on server '{server.name}' failed: {exc}") from None
    finally:
        await conn.close()


# -- tenants and the per-tenant operation lock --------------------------------------------------------


async def load_tenant(session: AsyncSession, subdomain: str) -> Tenant:
    tenant = (
        await session.execute(
            select(Tenant).where(Tenant.subdomain == subdomain, Tenant.status != "deleted")
            .options(selectinload(Tenant.domains))
        )
    ).scalar_one_or_none()
    if tenant is None:
        raise NotFound(f"no tenant '{subdomain}'")
    return tenant


@asynccontextmanager
async def operation_lock(platform: "Platform", tenant_id, subdomain: str) -> AsyncIterator[None]:
    """Hold the tenant's operation lock (a session advisory lock on the main database, released by
    PostgreSQL if the process dies), or Conflict at once if another operation holds it. Anything that
    drops a tenant's databases or roles (e.g. reconcile --fix) should hold it too."""
    key = zlib.crc32(tenant_id.bytes) - 2**31
    async with platform.main_engine.connect() as conn:
        got = (await conn.execute(text("SELECT pg_try_advisory_lock(:c, :k)"), {"c": _LOCK_CLASS, "k": key})).scalar()
        await conn.commit()
        if not got:
            raise Conflict(f"another operation on tenant '{subdomain}' is running; try again when it has finished")
        try:
            yield
        finally:
            try:
                await conn.execute(text("SELECT pg_advisory_unlock(:c, :k)"), {"c": _LOCK_CLASS, "k": key})
                await conn.commit()
            except Exception:
                await conn.invalidate()  # closing the session releases the lock too


@asynccontextmanager
async def locked_tenant(platform: "Platform", subdomain: str) -> AsyncIterator[Tenant]:
    """The tenant, freshly loaded while this process holds its operation lock (one operation at a time)."""
    async with AsyncSession(platform.main_engine, expire_on_commit=False) as session:
        tenant_id = (await load_tenant(session, subdomain)).id
    async with operation_lock(platform, tenant_id, subdomain):
        async with AsyncSession(platform.main_engine, expire_on_commit=False) as session:
            tenant = await load_tenant(session, subdomain)
        if tenant.id != tenant_id:
            raise Conflict(f"tenant '{subdomain}' was replaced meanwhile; try again")
        if tenant.status in HAS_DATABASE:
            await _heal_stale_freeze(platform, tenant)
        yield tenant


async def _heal_stale_freeze(platform: "Platform", tenant: Tenant) -> None:
    """A database left read-only by an operation that was killed (we hold the lock: none is running)."""
    try:
        async with on_server(platform, tenant.server, "checking for a stale freeze") as conn:
            frozen = await conn.fetchval(
                "SELECT 1 FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase "
                "WHERE d.datname = $1 AND s.setrole = 0 AND 'default_transaction_read_only=on' = ANY (s.setconfig)",
                tenant.db_name)
    except PolyflowError:
        return  # unreachable: the operation itself reports it
    if frozen:
        await thaw(platform, tenant.server, tenant.db_name)
        await record_event(platform, tenant.id, "tenant.unfrozen", "system", db_name=tenant.db_name,
                           reason="left read-only by an interrupted operation")


def require_database(tenant: Tenant) -> None:
    if tenant.status not in HAS_DATABASE:
        if tenant.status == "archived":
            raise Conflict(f"tenant '{tenant.subdomain}' is archived: it has no database (restore it from a backup)")
        raise Conflict(f"tenant '{tenant.subdomain}' is {tenant.status}: its onboarding has not finished")


# -- freezing a database ------------------------------------------------------------------------------


async def _terminate(conn: asyncpg.Connection, db_name: str, started_before: datetime | None) -> list[int]:
    rows = await conn.fetch(
        "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() "
        "AND ($2::timestamptz IS NULL OR backend_start < $2)", db_name, started_before)
    pids = [r["pid"] for r in rows]
    if pids:
        await conn.execute("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid", pids)
    return pids


async def freeze(platform: "Platform", server: DatabaseServer, db_name: str) -> None:
    """Make a database read-only for every transaction from now on; reads keep working.

    New sessions start read-only; sessions opened before are terminated (their clients reconnect,
    read-only), and we wait until they are gone, so everything committed is committed before this
    returns and nothing can commit after.
    """
    async with on_server(platform, server, f"making {db_name} read-only") as conn:
        db = quote_ident(db_name)
        await conn.execute(f"ALTER DATABASE {db} SET default_transaction_read_only = on")
        try:
            since = await conn.fetchval("SELECT clock_timestamp()")
            deadline = time.monotonic() + FREEZE_WAIT_SECONDS
            while await _terminate(conn, db_name, since):
                if time.monotonic() > deadline:
                    raise Unavailable(f"sessions on {db_name} did not end within {FREEZE_WAIT_SECONDS:.0f} s")
                await asyncio.sleep(0.05)
        except BaseException:
            await conn.execute(f"ALTER DATABASE {db} RESET default_transaction_read_only")
            raise


async def thaw(platform: "Platform", server: DatabaseServer, db_name: str) -> None:
    """Undo `freeze` (an operation failed): writable again, and the read-only sessions are recycled."""
    async with on_server(platform, server, f"making {db_name} writable again") as conn:
        await conn.execute(f"ALTER DATABASE {quote_ident(db_name)} RESET default_transaction_read_only")
        await _terminate(conn, db_name, None)


# -- new databases, loading, verifying, dropping --------------------------------------------------------


@dataclass
class NewDatabase:
    server: DatabaseServer
    db_name: str
    role: str
    password: str
    owns_role: bool  # the role was created with the database (and goes with it on failure)

    def dsn(self) -> PgDsn:
        return PgDsn(self.server.host, self.server.port, self.role, self.password, self.db_name)


async def create_database(platform: "Platform", server: DatabaseServer, *, db_name: str, role: str,
                          password: str, create_role: bool) -> NewDatabase:
    """An empty database owned by ``role`` (created too if asked), CONNECT for that role only."""
    conn = await admin_connect(server, platform.secrets)
    db, r = quote_ident(db_name), quote_ident(role)
    made: list[str] = []  # what to undo on failure: only what this call created
    try:
        if create_role:
            await conn.execute(f"CREATE ROLE {r} LOGIN PASSWORD {quote_literal(password)} "
                               "NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION")
            made.append(f"DROP ROLE IF EXISTS {r}")
            for statement in role_limits_sql(r, platform.settings):  # as onboarding gives a new tenant role
                await conn.execute(statement)
        # template0: nothing a DBA added to template1 can collide with the dump's objects.
        await conn.execute(f"CREATE DATABASE {db} OWNER {r} TEMPLATE template0")
        made.insert(0, f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        await conn.execute(f"REVOKE ALL ON DATABASE {db} FROM PUBLIC")
        await conn.execute(f"GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {r}")
    except BaseException as exc:
        for statement in made:
            await quietly(conn.execute(statement))
        if isinstance(exc, asyncpg.PostgresError):
            raise Unavailable(f"creating database {db_name} on server '{server.name}' failed: {exc}") from None
        raise
    finally:
        await conn.close()
    return NewDatabase(server, db_name, role, password, create_role)


async def drop_database(platform: "Platform", server: DatabaseServer, db_name: str, role: str | None,
                        *, drain: float = 0.0) -> None:
    """Drop a database (and a role), after giving running statements up to ``drain`` seconds."""
    async with on_server(platform, server, f"dropping {db_name}") as conn:
        deadline = time.monotonic() + drain
        while time.monotonic() < deadline and await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() "
            "AND state IS DISTINCT FROM 'idle'", db_name):
            await asyncio.sleep(0.05)
        await conn.execute(f"DROP DATABASE IF EXISTS {quote_ident(db_name)} WITH (FORCE)")
        if role is not None:
            await conn.execute(f"DROP ROLE IF EXISTS {quote_ident(role)}")


async def discard(platform: "Platform", new: NewDatabase) -> str | None:
    return await quietly(drop_database(platform, new.server, new.db_name, new.role if new.owns_role else None))


async def load_dump(platform: "Platform", new: NewDatabase, path: Path) -> None:
    await pgtools.restore(new.dsn(), path, pg_bin=platform.settings.pg_bin)


def _tree_revisions() -> set[str]:
    script = ScriptDirectory.from_config(migrate.alembic_config("tenant"))
    return {rev.revision for rev in script.walk_revisions()}


async def table_counts(conn: asyncpg.Connection) -> dict[str, int]:
    """Exact row counts of every table in the public schema."""
    names = [r[0] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
    return {n: await conn.fetchval(f"SELECT count(*) FROM public.{quote_ident(n)}") for n in sorted(names)}


# Checking a copy counts every table: maintenance work, not held to the role's request limits.
_NO_LIMITS = {"statement_timeout": "0", "idle_in_transaction_session_timeout": "0"}


async def verify(new: NewDatabase, *, expected: set[str] | None, counts: dict[str, int] | None = None) -> str:
    """Check a loaded copy, connected as its own role; bring it to the head revision. Returns the revision.

    ``expected``: the revisions the copy may be at (None: any revision of the tenant tree);
    ``counts``: exact row counts it must have (a move copies a frozen database, so they are known).
    """
    where = f"{new.db_name} on server '{new.server.name}'"
    try:
        conn = await asyncpg.connect(**new.dsn().asyncpg_kwargs(), timeout=10, server_settings=_NO_LIMITS)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise VerificationFailed(f"the tenant's role cannot connect to the restored {where}: {exc}") from None
    try:
        try:
            revision = await conn.fetchval("SELECT version_num FROM alembic_version")
        except asyncpg.UndefinedTableError:
            raise VerificationFailed(f"the restored {where} has no alembic_version: not a Polyflow tenant backup") from None
        head = migrate.head("tenant")
        if revision != head and revision not in _tree_revisions():
            raise VerificationFailed(f"the restored {where} is at revision {revision}, which this version of "
                                     f"Polyflow does not know (its head is {head})")
        if revision != head and expected is not None and revision not in expected:
            raise VerificationFailed(f"the restored {where} is at revision {revision}, expected "
                                     + " or ".join(sorted({head, *expected})))
        if counts is not None:
            got = await table_counts(conn)
            if got != counts:
                diff = {t: (counts.get(t), got.get(t)) for t in set(counts) | set(got) if counts.get(t) != got.get(t)}
                raise VerificationFailed(f"the copy in {where} differs from the original (rows: {diff})")
    finally:
        await conn.close()
    if revision != head:
        from polyflow.platform.provisioning import maintenance_engine

        engine = maintenance_engine(new.dsn())
        try:
            revision = await migrate.upgrade(engine, "tenant")
        finally:
            await engine.dispose()
    conn = await asyncpg.connect(**new.dsn().asyncpg_kwargs(), timeout=10, server_settings=_NO_LIMITS)
    try:
        owned = {r[0] for r in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user")}
        missing = set(TenantBase.metadata.tables) - owned
        if missing:
            raise VerificationFailed(f"tables missing or not owned by the tenant's role in {where}: {sorted(missing)}")
        if not await conn.fetchval("SELECT count(*) FROM units"):
            raise VerificationFailed(f"the restored {where} has no reference data (units is empty)")
    finally:
        await conn.close()
    return revision


async def switch(platform: "Platform", tenant: Tenant, new: NewDatabase, revision: str, *, action: str,
                 actor: str, set_fields: dict | None = None, **detail) -> None:
    """Point the registry at ``new`` in one transaction, if the tenant is still where we found it."""
    async with AsyncSession(platform.main_engine) as session:
        row = (await session.execute(
            select(Tenant).where(Tenant.id == tenant.id).with_for_update(of=Tenant))).scalar_one()
        if (row.server_id, row.db_name, row.status == "deleted") != (tenant.server_id, tenant.db_name, False):
            raise Conflict(f"tenant '{tenant.subdomain}' changed during the operation; nothing was switched")
        if not await database_exists(platform, new.server, new.db_name):
            raise Conflict(f"the new database {new.db_name} disappeared before the switch; nothing was switched")
        row.server_id = new.server.id
        row.db_name = new.db_name
        row.db_user = new.role
        if new.owns_role:
            row.db_password_enc = platform.secrets.encrypt(new.password)
        row.schema_revision = revision
        for key, value in (set_fields or {}).items():
            setattr(row, key, value)
        event(session, tenant.id, action, actor, server=new.server.name, db_name=new.db_name,
              previous_server=tenant.server.name, previous_db_name=tenant.db_name, **detail)
        await session.commit()
    await platform.tenant_changed(tenant.subdomain, [d.domain for d in tenant.domains], tenant.id)


async def database_exists(platform: "Platform", server: DatabaseServer, db_name: str) -> bool:
    async with on_server(platform, server, f"looking for {db_name}") as conn:
        return bool(await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", db_name))


async def retire(platform: "Platform", tenant: Tenant, server: DatabaseServer, db_name: str, role: str | None,
                 actor: str, *, successor: NewDatabase | None = None) -> list[str]:
    """Drop a database the registry no longer points at. A failure is a warning (the operation is done).

    With a ``successor`` (move, restore) the tenant is served from that new database: every process
    gets time to switch first (so requests never see the old one disappear), and the old one is kept
    if the new one is not there any more (it would be the only copy).
    """
    still_served = successor is not None
    if still_served:
        await asyncio.sleep(SWITCH_GRACE_SECONDS)
        if not await quietly_exists(platform, successor):
            await record_event(platform, tenant.id, "tenant.cleanup_skipped", actor, server=server.name, db_name=db_name,
                               reason=f"the new database {successor.db_name} is missing")
            return [f"the new database {successor.db_name} on server '{successor.server.name}' is missing, so "
                    f"{db_name} on server '{server.name}' was kept: it holds the data"]
    problem = await quietly(drop_database(platform, server, db_name, role,
                                          drain=DRAIN_SECONDS if still_served else 0.5))
    if problem is None:
        return []
    await record_event(platform, tenant.id, "tenant.cleanup_failed", actor, server=server.name, db_name=db_name,
                       role=role, error=problem[:500])
    what = f"database {db_name}" + (f" and role {role}" if role else "")
    return [f"{what} on server '{server.name}' could not be dropped ({problem}); `polyflow tenants reconcile --fix` removes it"]


async def quietly_exists(platform: "Platform", new: NewDatabase) -> bool:
    """Whether ``new`` exists; True when it cannot be checked (keeping the old copy needs a real reason)."""
    try:
        return await database_exists(platform, new.server, new.db_name)
    except PolyflowError:
        return True
