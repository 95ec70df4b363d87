"""After onboarding: archive, delete and move a tenant; register database servers.

    archive  freeze -> backup (kind archive) -> status archived -> drop database and role (row kept)
    delete   --confirm SUB -> freeze -> backup (pre_delete) -> tombstone (status deleted) -> drop both
    move     new role + database on the target -> freeze the old one -> dump -> restore -> verify
             (row counts equal the frozen original) -> switch the registry -> drop the old ones

The registry changes in one transaction and is followed by `Platform.tenant_changed`, so every app
process serves the new state within a second; every action is in ``platform_events``. Anything that
fails before the registry switch is undone (the new database dropped, the old one writable again);
a failure to drop the old database *after* the switch is only a warning: the tenant is already
served from its new place and the leftover is an orphan `tenants reconcile` removes.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg
from sqlalchemy import delete as sql_delete
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.kit.crypto import new_password
from polyflow.kit.db import PgDsn
from polyflow.kit.errors import Conflict, InvalidInput, NotFound, Unavailable
from polyflow.platform import pgtools
from polyflow.platform.backups import (
    HAS_DATABASE, BackupInfo, Progress, create_database, discard, event, freeze, load_dump, locked_tenant,
    new_ident, on_server, quietly, record_event, require_database, retire, say, switch, table_counts, take_backup,
    thaw, verify,
)
from polyflow.platform.models import DatabaseServer, Tenant, TenantDomain
from polyflow.platform.servers import ensure_server

if TYPE_CHECKING:
    from polyflow.platform.runtime import Platform

_SERVER_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


@dataclass
class LifecycleResult:
    subdomain: str
    status: str
    server: str
    db_name: str
    backup: BackupInfo | None
    seconds: float
    warnings: list[str] = field(default_factory=list)


def _fail_detail(exc: BaseException) -> str:
    return (getattr(exc, "message", None) or repr(exc))[:500]


async def _frozen_backup(platform: "Platform", tenant: Tenant, kind: str, actor: str, progress: Progress):
    """Freeze the tenant's database and dump it; on failure it is writable again."""
    say(progress, f"making {tenant.db_name} read-only")
    await freeze(platform, tenant.server, tenant.db_name)
    try:
        return await take_backup(platform, tenant, kind, actor, progress)
    except BaseException:
        await quietly(thaw(platform, tenant.server, tenant.db_name))
        raise


async def _set_final_status(platform: "Platform", tenant: Tenant, status: str, action: str, actor: str, **detail) -> None:
    now = datetime.now(timezone.utc)
    async with AsyncSession(platform.main_engine) as session:
        row = (await session.execute(select(Tenant).where(Tenant.id == tenant.id).with_for_update(of=Tenant))).scalar_one()
        if (row.server_id, row.db_name, row.status) != (tenant.server_id, tenant.db_name, tenant.status):
            raise Conflict(f"tenant '{tenant.subdomain}' changed during the operation; nothing was changed")
        row.status, row.status_reason = status, status
        if status == "archived":
            row.archived_at = now
        else:
            row.deleted_at = now
            # Its custom domains become free for another tenant, like its subdomain.
            await session.execute(sql_delete(TenantDomain).where(TenantDomain.tenant_id == tenant.id))
        event(session, tenant.id, action, actor, server=tenant.server.name, db_name=tenant.db_name,
              previous_status=tenant.status, domains=[d.domain for d in tenant.domains], **detail)
        await session.commit()
    await platform.tenant_changed(tenant.subdomain, [d.domain for d in tenant.domains], tenant.id)


async def _leftovers(platform: "Platform", tenant: Tenant) -> bool:
    async with on_server(platform, tenant.server, "looking for leftovers") as conn:
        return bool(await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) OR "
            "EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $2)", tenant.db_name, tenant.db_user))


async def archive(platform: "Platform", subdomain: str, *, actor: str = "cli", progress: Progress = None) -> LifecycleResult:
    """Dump the tenant's database, then drop it and its role; the registry row stays (status archived)."""
    started = time.perf_counter()
    async with locked_tenant(platform, subdomain) as tenant:
        if tenant.status == "archived":
            # Rerunning finishes an archive whose clean-up failed; otherwise there is nothing to do.
            if not await _leftovers(platform, tenant):
                raise Conflict(f"tenant '{subdomain}' is already archived")
            warnings = await retire(platform, tenant, tenant.server, tenant.db_name, tenant.db_user, actor)
            return LifecycleResult(subdomain, "archived", tenant.server.name, tenant.db_name, None,
                                   time.perf_counter() - started, warnings)
        require_database(tenant)
        backup = await _frozen_backup(platform, tenant, "archive", actor, progress)
        try:
            await _set_final_status(platform, tenant, "archived", "tenant.archived", actor, backup=backup.path)
        except BaseException:
            await quietly(thaw(platform, tenant.server, tenant.db_name))
            raise
        say(progress, f"dropping {tenant.db_name}")
        warnings = await retire(platform, tenant, tenant.server, tenant.db_name, tenant.db_user, actor)
    return LifecycleResult(subdomain, "archived", tenant.server.name, tenant.db_name,
                           BackupInfo.of(backup, subdomain), time.perf_counter() - started, warnings)


async def delete(platform: "Platform", subdomain: str, *, confirm: str | None, actor: str = "cli",
                 progress: Progress = None) -> LifecycleResult:
    """Back up, then drop the tenant's database and role and tombstone its row (the subdomain is free again).

    ``confirm`` must repeat the subdomain exactly. An unfinished onboarding is abandoned instead
    (nothing to back up, and its row goes too).
    """
    if confirm != subdomain:
        raise InvalidInput(f"refusing to delete '{subdomain}' without confirmation: pass --confirm {subdomain}")
    started = time.perf_counter()
    async with locked_tenant(platform, subdomain) as tenant:
        if tenant.status in ("provisioning", "failed"):
            from polyflow.platform import onboarding

            await onboarding.abandon(platform, subdomain, actor=actor)
            return LifecycleResult(subdomain, "removed", tenant.server.name, tenant.db_name, None,
                                   time.perf_counter() - started)
        backup = None
        if tenant.status in HAS_DATABASE:
            backup = await _frozen_backup(platform, tenant, "pre_delete", actor, progress)
        # An archived tenant has no database; its archive backup stays on record.
        try:
            await _set_final_status(platform, tenant, "deleted", "tenant.deleted", actor,
                                    backup=backup.path if backup else None)
        except BaseException:
            if backup is not None:
                await quietly(thaw(platform, tenant.server, tenant.db_name))
            raise
        say(progress, f"dropping {tenant.db_name}")
        warnings = await retire(platform, tenant, tenant.server, tenant.db_name, tenant.db_user, actor)
    return LifecycleResult(subdomain, "deleted", tenant.server.name, tenant.db_name,
                           BackupInfo.of(backup, subdomain) if backup else None, time.perf_counter() - started, warnings)


async def _target_server(session: AsyncSession, name: str, tenant: Tenant) -> DatabaseServer:
    server = (await session.execute(select(DatabaseServer).where(DatabaseServer.name == name))).scalar_one_or_none()
    if server is None:
        raise NotFound(f"no database server named '{name}'")
    if server.id == tenant.server_id:
        raise Conflict(f"tenant '{tenant.subdomain}' is already on server '{name}'")
    if not server.is_active:
        raise InvalidInput(f"database server '{name}' is not accepting tenants")
    if server.max_tenants is not None:
        used = (await session.execute(select(func.count()).select_from(Tenant).where(
            Tenant.server_id == server.id, Tenant.status != "deleted"))).scalar_one()
        if used >= server.max_tenants:
            raise Conflict(f"database server '{name}' is full ({used} of {server.max_tenants} tenants)")
    return server


async def move(platform: "Platform", subdomain: str, *, to: str, actor: str = "cli", progress: Progress = None) -> LifecycleResult:
    """Copy a tenant's database to another server and switch to it; reads go on, writes get 503 meanwhile."""
    started = time.perf_counter()
    async with locked_tenant(platform, subdomain) as tenant:
        require_database(tenant)
        async with AsyncSession(platform.main_engine, expire_on_commit=False) as session:
            target = await _target_server(session, to, tenant)
        source = tenant.server
        # Everything on the target first (this also proves it reachable) while the tenant is untouched.
        ident = new_ident(subdomain)
        say(progress, f"creating {ident} on server '{target.name}'")
        new = await create_database(platform, target, db_name=ident, role=ident,
                                    password=new_password(), create_role=True)
        frozen = False
        try:
            say(progress, f"making {tenant.db_name} read-only")
            await freeze(platform, source, tenant.db_name)
            frozen = True
            async with on_server(platform, source, f"counting rows in {tenant.db_name}", tenant.db_name) as conn:
                counts = await table_counts(conn)  # exact: nothing can change them any more
            backup = await take_backup(platform, tenant, "move", actor, progress)
            say(progress, f"restoring into {ident} on server '{target.name}'")
            await load_dump(platform, new, Path(backup.path))
            say(progress, "verifying the copy")
            revision = await verify(new, expected={backup.schema_revision} if backup.schema_revision else None,
                                    counts=counts)
            await switch(platform, tenant, new, revision, action="tenant.moved", actor=actor, backup=backup.path)
        except BaseException as exc:
            await discard(platform, new)
            if frozen:
                await quietly(thaw(platform, source, tenant.db_name))
            await record_event(platform, tenant.id, "tenant.move_failed", actor, to=target.name, error=_fail_detail(exc))
            raise
        say(progress, f"dropping {tenant.db_name} on server '{source.name}'")
        warnings = await retire(platform, tenant, source, tenant.db_name, tenant.db_user, actor, successor=new)
    return LifecycleResult(subdomain, tenant.status, target.name, ident, BackupInfo.of(backup, subdomain),
                           time.perf_counter() - started, warnings)


# -- database servers -----------------------------------------------------------------------------------


@dataclass
class ServerInfo:
    name: str
    host: str
    port: int
    admin_user: str
    is_active: bool
    max_tenants: int | None
    tenants: int  # registry rows placed there (all but deleted: what placement counts)
    free: int | None  # None: no limit


async def list_servers(platform: "Platform") -> list[ServerInfo]:
    """Every database server with its tenant count and free capacity."""
    async with AsyncSession(platform.main_engine) as session:
        used = (select(Tenant.server_id, func.count().label("n")).where(Tenant.status != "deleted")
                .group_by(Tenant.server_id).subquery())
        rows = (await session.execute(
            select(DatabaseServer, func.coalesce(used.c.n, 0))
            .outerjoin(used, used.c.server_id == DatabaseServer.id).order_by(DatabaseServer.name))).all()
    return [ServerInfo(s.name, s.host, s.port, s.admin_user, s.is_active, s.max_tenants, n,
                       None if s.max_tenants is None else max(0, s.max_tenants - n)) for s, n in rows]


async def add_server(platform: "Platform", name: str, dsn: str, *, max_tenants: int | None = None,
                     actor: str = "cli") -> tuple[ServerInfo, list[str]]:
    """Register a PostgreSQL server for tenant databases after checking that its admin login works.

    Returns the server and warnings. An existing name is updated (new password, limit), unless that
    would point its tenants at another host.
    """
    if not _SERVER_NAME.fullmatch(name or ""):
        raise InvalidInput(f"invalid server name '{name}': 1-63 lowercase letters, digits, '-' or '_'")
    if max_tenants is not None and max_tenants < 0:
        raise InvalidInput("--max-tenants must be 0 or more")
    try:
        parsed = PgDsn.parse(dsn)
    except ValueError as exc:
        raise InvalidInput(f"invalid DSN: {exc} (expected postgresql://user:password@host:port/database)") from None
    where = parsed.redacted()
    try:
        conn = await asyncpg.connect(**parsed.asyncpg_kwargs(), timeout=10)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise Unavailable(f"cannot connect to {where}: {exc}") from None
    try:
        role = await conn.fetchrow("SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user")
        version = int(await conn.fetchval("SHOW server_version_num")) // 10000
    finally:
        await conn.close()
    if not (role["rolsuper"] or (role["rolcreatedb"] and role["rolcreaterole"])):
        raise InvalidInput(f"role '{parsed.user}' at {where} needs CREATEDB and CREATEROLE (or superuser) to hold tenants")
    warnings = []
    try:
        dump_major = await pgtools.tool_major("pg_dump", platform.settings.pg_bin)
    except pgtools.PgToolError as exc:
        warnings.append(f"backups and moves will not work from this machine: {exc.message}")
    else:
        if dump_major < version:
            raise InvalidInput(f"pg_dump here is version {dump_major} and cannot back up PostgreSQL {version} at {where}; "
                               f"install postgresql-client-{version} or set POLYFLOW_PG_BIN")
    async with AsyncSession(platform.main_engine) as session:
        existing = (await session.execute(select(DatabaseServer).where(DatabaseServer.name == name))).scalar_one_or_none()
        if existing is not None and (existing.host, existing.port) != (parsed.host, parsed.port):
            n = (await session.execute(select(func.count()).select_from(Tenant).where(
                Tenant.server_id == existing.id, Tenant.status != "deleted"))).scalar_one()
            if n:
                raise Conflict(f"server '{name}' already exists at {existing.host}:{existing.port} with {n} tenant(s); "
                               "choose another name")
        await ensure_server(session, platform.secrets, name, parsed, max_tenants)
        event(session, None, "server.updated" if existing else "server.added", actor, name=name, host=parsed.host,
              port=parsed.port, admin_user=parsed.user, max_tenants=max_tenants)
        await session.commit()
    info = next(s for s in await list_servers(platform) if s.name == name)
    return info, warnings
