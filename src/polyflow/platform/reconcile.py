"""Find (and with fix=True repair) what the registry and the database servers disagree on.

- orphan database / role: a tenant-named (``t_*``) database or role on a server with no registry row
  -> dropped;
- unfinished onboarding: a tenant left ``provisioning``/``failed`` -> onboarding resumed (adopted);
  if it cannot finish, its database, role and row are removed;
- missing database: a registry row that should have a database on its server but it is not there
  -> reported only (restore it from a backup);
- leftover template build: a ``polyflow_tpl_*_build`` database from an interrupted build -> dropped;
- stale freeze: a live tenant's database left read-only by a move/restore/archive/delete that was
  killed (no operation holds the tenant's lock) -> made writable again;
- interrupted backup: a backup row still ``running`` with nobody holding the tenant's lock, or a
  ``.part`` file no running backup is writing -> row marked failed, partial file deleted (a file
  under its final name is always complete and checksummed; a ``.part`` never is).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.kit.db import quote_ident
from polyflow.kit.errors import Conflict
from polyflow.platform import onboarding
from polyflow.platform.models import Backup, DatabaseServer, Tenant
from polyflow.platform.servers import admin_connect
from polyflow.platform.templates import TEMPLATE_PREFIX

if TYPE_CHECKING:
    from polyflow.platform.runtime import Platform

# Statuses whose database must exist on its server.
HAS_DATABASE = ("active", "suspended")


@dataclass
class Finding:
    server: str
    kind: str  # orphan_database | orphan_role | unfinished_onboarding | missing_database | template_leftover
    #            | stale_freeze | interrupted_backup | partial_backup_file
    name: str
    action: str = "none"  # what --fix did (or would do)

    def as_dict(self) -> dict:
        return asdict(self)


async def reconcile(platform: "Platform", *, fix: bool = False) -> list[Finding]:
    findings: list[Finding] = []
    async with AsyncSession(platform.main_engine, expire_on_commit=False) as session:
        servers = (await session.execute(select(DatabaseServer).order_by(DatabaseServer.name))).scalars().all()
        tenants = (await session.execute(select(Tenant).where(Tenant.status != "deleted"))).scalars().all()

    for tenant in tenants:
        if tenant.status in ("provisioning", "failed"):
            finding = Finding(tenant.server.name, "unfinished_onboarding", tenant.subdomain, "resume")
            findings.append(finding)
            if fix:
                try:
                    await onboarding.run(platform, tenant.subdomain, actor="reconcile")
                    finding.action = "resumed: active"
                except Conflict as exc:  # another process is onboarding it right now: leave it alone
                    finding.action = f"skipped ({exc})"[:300]
                except Exception as exc:
                    await onboarding.abandon(platform, tenant.subdomain, actor="reconcile")
                    finding.action = f"removed (could not finish: {exc})"[:300]

    known_dbs = {(t.server_id, t.db_name) for t in tenants}
    known_roles = {(t.server_id, t.db_user) for t in tenants}
    for server in servers:
        if not server.is_active:
            continue
        conn = await admin_connect(server, platform.secrets)
        try:
            dbs = {r["datname"] for r in await conn.fetch(
                "SELECT datname FROM pg_database WHERE datname LIKE 't\\_%' OR datname LIKE $1", TEMPLATE_PREFIX + "%_build")}
            roles = {r["rolname"] for r in await conn.fetch("SELECT rolname FROM pg_roles WHERE rolname LIKE 't\\_%'")}
            for db in sorted(dbs):
                if db.startswith(TEMPLATE_PREFIX):
                    findings.append(Finding(server.name, "template_leftover", db, "drop"))
                    if fix:
                        await conn.execute(f"DROP DATABASE IF EXISTS {quote_ident(db)} WITH (FORCE)")
                        findings[-1].action = "dropped"
                elif (server.id, db) not in known_dbs:
                    findings.append(Finding(server.name, "orphan_database", db, "drop"))
                    if fix:
                        findings[-1].action = await _drop_if_still_orphan(
                            platform, conn, server.id, db, f"DROP DATABASE IF EXISTS {quote_ident(db)} WITH (FORCE)",
                            database=True)
            for role in sorted(roles):
                if (server.id, role) not in known_roles:
                    findings.append(Finding(server.name, "orphan_role", role, "drop"))
                    if fix:
                        findings[-1].action = await _drop_if_still_orphan(
                            platform, conn, server.id, role, f"DROP ROLE IF EXISTS {quote_ident(role)}",
                            database=False)
            for tenant in tenants:
                if tenant.server_id == server.id and tenant.status in HAS_DATABASE and tenant.db_name not in dbs:
                    findings.append(Finding(server.name, "missing_database", tenant.subdomain,
                                            "none (restore from a backup)"))
            frozen = {r["datname"] for r in await conn.fetch(
                "SELECT d.datname FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase "
                "WHERE s.setrole = 0 AND 'default_transaction_read_only=on' = ANY (s.setconfig)")}
        finally:
            await conn.close()
        for tenant in tenants:
            if tenant.server_id == server.id and tenant.status in HAS_DATABASE and tenant.db_name in frozen:
                findings.append(await _stale_freeze(platform, tenant, fix))
    findings += await _interrupted_backups(platform, fix)
    return [f for f in findings if f is not None]


def _subdomain_of(name: str) -> str | None:
    """``t_pt_abc_1a2b3c`` -> ``pt-abc`` (subdomains never contain underscores)."""
    if not name.startswith("t_") or len(name) < 10:
        return None
    return name[2:-7].replace("_", "-")


async def _drop_if_still_orphan(platform: "Platform", conn, server_id, name: str, drop_sql: str, *,
                                database: bool) -> str:
    """Drop an orphan only under its tenant's operation lock and after re-reading the registry: a move
    or restore creates its new database before it switches the registry to it."""
    from polyflow.platform.backups import operation_lock

    sub = _subdomain_of(name)
    async with AsyncSession(platform.main_engine) as session:
        tenant_id = (await session.execute(
            select(Tenant.id).where(Tenant.subdomain == sub, Tenant.status != "deleted"))).scalar() if sub else None
    if tenant_id is None:
        await conn.execute(drop_sql)
        return "dropped"
    try:
        async with operation_lock(platform, tenant_id, sub):
            async with AsyncSession(platform.main_engine) as session:
                # A database is known by its database name only: after a restore in place the tenant
                # keeps its role, whose name is the old (replaced) database's.
                column = Tenant.db_name if database else Tenant.db_user
                known = (await session.execute(select(Tenant.id).where(
                    Tenant.server_id == server_id, column == name, Tenant.status != "deleted"))).first()
            if known:
                return "kept (now registered)"
            await conn.execute(drop_sql)
            return "dropped"
    except Conflict:
        return f"skipped (an operation on '{sub}' is running)"


async def _stale_freeze(platform: "Platform", tenant: Tenant, fix: bool) -> Finding | None:
    """A live tenant's database still read-only: stale only if no operation holds the tenant's lock (a
    running move or restore freezes it on purpose)."""
    from polyflow.platform.backups import operation_lock, record_event, thaw

    finding = Finding(tenant.server.name, "stale_freeze", tenant.subdomain, "make writable")
    try:
        async with operation_lock(platform, tenant.id, tenant.subdomain):
            if fix:
                await thaw(platform, tenant.server, tenant.db_name)
                await record_event(platform, tenant.id, "tenant.unfrozen", "reconcile", db_name=tenant.db_name,
                                   reason="left read-only by an interrupted operation")
                finding.action = "made writable"
    except Conflict:
        return None  # frozen by the operation running right now: not stale
    return finding


async def _interrupted_backups(platform: "Platform", fix: bool) -> list[Finding]:
    """Backups cut off by a killed process: their row says running, a ``.part`` file may be left."""
    from polyflow.platform.backups import backup_root, operation_lock

    findings: list[Finding] = []
    async with AsyncSession(platform.main_engine) as session:
        running = (await session.execute(
            select(Backup, Tenant).join(Tenant, Tenant.id == Backup.tenant_id).where(Backup.status == "running")
        )).all()
        live = {t.subdomain: t for t in (await session.execute(
            select(Tenant).where(Tenant.status != "deleted"))).scalars()}
    seen: set[str] = set()  # .part files of running backups (being written, or reported just above)
    for row, tenant in running:
        part = row.path + ".part"
        seen.add(part)
        try:
            async with operation_lock(platform, tenant.id, tenant.subdomain):
                findings.append(Finding(row.server_name, "interrupted_backup", row.path, "mark failed"))
                if fix:
                    async with AsyncSession(platform.main_engine) as session:
                        current = await session.get(Backup, row.id)
                        if current is not None and current.status == "running":
                            current.status, current.error = "failed", "interrupted (the process was killed)"
                            current.finished_at = datetime.now(timezone.utc)
                            await session.commit()
                    _unlink(part)
                    findings[-1].action = "marked failed"
        except Conflict:
            pass  # really running: another process holds the tenant's lock
    root = backup_root(platform)
    for part in sorted(root.glob("*/*.part")) if root.is_dir() else []:
        if str(part) in seen:
            continue
        tenant = live.get(part.parent.name)
        finding = Finding(tenant.server.name if tenant else "-", "partial_backup_file", str(part), "delete")
        try:
            if tenant is not None:
                async with operation_lock(platform, tenant.id, tenant.subdomain):
                    if fix:
                        _unlink(part)
            elif fix:
                _unlink(part)
        except Conflict:
            continue  # a backup of that tenant is being written right now
        if fix:
            finding.action = "deleted"
        findings.append(finding)
    return findings


def _unlink(path) -> None:
    Path(path).unlink(missing_ok=True)
