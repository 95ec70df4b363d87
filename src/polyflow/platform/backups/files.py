"""Taking and listing backups: pg_dump custom format into ``<backup_dir>/<subdomain>/``, recorded in
``backups`` with size and sha256.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.kit.errors import NotFound, PolyflowError
from polyflow.platform import pgtools
from polyflow.platform.backups.copies import Progress, event, locked_tenant, on_server, require_database, say
from polyflow.platform.models import Backup, Tenant
from polyflow.platform.servers import admin_dsn

if TYPE_CHECKING:
    from polyflow.platform.runtime import Platform


class BackupError(PolyflowError):
    status_code = 503


@dataclass
class BackupInfo:
    id: str
    subdomain: str
    kind: str
    status: str
    path: str
    size_bytes: int | None
    sha256: str | None
    schema_revision: str | None
    server: str
    db_name: str
    started_at: datetime
    finished_at: datetime | None
    error: str | None

    @classmethod
    def of(cls, b: Backup, subdomain: str) -> "BackupInfo":
        return cls(str(b.id), subdomain, b.kind, b.status, b.path, b.size_bytes, b.sha256, b.schema_revision,
                   b.server_name, b.db_name, b.started_at, b.finished_at, b.error)


def backup_root(platform: "Platform") -> Path:
    return Path(platform.settings.backup_dir).expanduser().resolve()


async def _revision_of(platform: "Platform", tenant: Tenant) -> str | None:
    async with on_server(platform, tenant.server, f"reading {tenant.db_name}", tenant.db_name) as conn:
        try:
            return await conn.fetchval("SELECT version_num FROM alembic_version")
        except asyncpg.UndefinedTableError:
            return tenant.schema_revision


async def take_backup(platform: "Platform", tenant: Tenant, kind: str, actor: str, progress: Progress = None) -> Backup:
    """Dump a tenant database now (the caller holds the tenant's lock); returns the completed row."""
    folder = backup_root(platform) / tenant.subdomain
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise BackupError(f"cannot create the backup folder {folder}: {exc.strerror}") from None
    now = datetime.now(timezone.utc)
    final = folder / f"{now:%Y%m%dT%H%M%S}.{now.microsecond // 1000:03d}Z-{kind}.dump"
    part = final.with_name(final.name + ".part")
    revision = await _revision_of(platform, tenant)
    async with AsyncSession(platform.main_engine, expire_on_commit=False) as session:
        # We hold the tenant's lock: a backup still "running" was cut off (process killed).
        await session.execute(update(Backup).where(Backup.tenant_id == tenant.id, Backup.status == "running")
                              .values(status="failed", error="interrupted", finished_at=now))
        for stray in folder.glob("*.part"):
            stray.unlink(missing_ok=True)
        row = Backup(tenant_id=tenant.id, kind=kind, status="running", path=str(final), schema_revision=revision,
                     server_name=tenant.server.name, db_name=tenant.db_name)
        session.add(row)
        await session.commit()
        try:
            say(progress, f"dumping {tenant.db_name} on server '{tenant.server.name}'")
            await pgtools.dump(admin_dsn(tenant.server, platform.secrets, tenant.db_name), part,
                               pg_bin=platform.settings.pg_bin)
            os.chmod(part, 0o600)
            row.size_bytes, row.sha256 = await asyncio.to_thread(pgtools.file_digest, part)
            os.replace(part, final)
            pgtools.fsync_dir(folder)
        except BaseException as exc:
            part.unlink(missing_ok=True)
            row.status, row.finished_at = "failed", datetime.now(timezone.utc)
            row.error = (getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}")[:2000]
            await asyncio.shield(session.commit())
            raise
        row.status, row.finished_at = "completed", datetime.now(timezone.utc)
        event(session, tenant.id, "tenant.backup", actor, backup_id=str(row.id), kind=kind, path=row.path,
              size_bytes=row.size_bytes, sha256=row.sha256)
        await session.commit()
    return row


async def backup(platform: "Platform", subdomain: str, *, kind: str = "manual", actor: str = "cli",
                 progress: Progress = None) -> BackupInfo:
    """pg_dump a tenant's database to the backup folder and record it."""
    async with locked_tenant(platform, subdomain) as tenant:
        require_database(tenant)
        row = await take_backup(platform, tenant, kind, actor, progress)
    return BackupInfo.of(row, subdomain)


async def list_backups(platform: "Platform", subdomain: str) -> list[BackupInfo]:
    """Every backup of the tenants that had this subdomain (a deleted one's too), oldest first."""
    async with AsyncSession(platform.main_engine) as session:
        if not (await session.execute(select(Tenant.id).where(Tenant.subdomain == subdomain).limit(1))).first():
            raise NotFound(f"no tenant '{subdomain}'")
        rows = (await session.execute(
            select(Backup).join(Tenant, Tenant.id == Backup.tenant_id)
            .where(Tenant.subdomain == subdomain).order_by(Backup.started_at, Backup.id)
        )).scalars().all()
        return [BackupInfo.of(b, subdomain) for b in rows]


async def find_backup(platform: "Platform", backup_id) -> tuple[Backup, str] | None:
    async with AsyncSession(platform.main_engine) as session:
        row = (await session.execute(select(Backup, Tenant.subdomain).join(Tenant, Tenant.id == Backup.tenant_id)
                                     .where(Backup.id == backup_id))).first()
        return (row[0], row[1]) if row else None
