"""Find (and with fix=True repair) what the registry and the database servers disagree on.

- orphan database / role: a tenant-named (``t_*``) database or role on a server with no registry row
  -> dropped;
- unfinished onboarding: a tenant left ``provisioning``/``failed`` -> onboarding resumed (adopted);
  if it cannot finish, its database, role and row are removed;
- missing database: a registry row that should have a database on its server but it is not there
  -> reported only (restore it from a backup);
- leftover template build: a ``polyflow_tpl_*_build`` database from an interrupted build -> dropped.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.kit.db import quote_ident
from polyflow.kit.errors import Conflict
from polyflow.platform import onboarding
from polyflow.platform.models import DatabaseServer, Tenant
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
                            platform, conn, server.id, db, f"DROP DATABASE IF EXISTS {quote_ident(db)} WITH (FORCE)")
            for role in sorted(roles):
                if (server.id, role) not in known_roles:
                    findings.append(Finding(server.name, "orphan_role", role, "drop"))
                    if fix:
                        findings[-1].action = await _drop_if_still_orphan(
                            platform, conn, server.id, role, f"DROP ROLE IF EXISTS {quote_ident(role)}")
            for tenant in tenants:
                if tenant.server_id == server.id and tenant.status in HAS_DATABASE and tenant.db_name not in dbs:
                    findings.append(Finding(server.name, "missing_database", tenant.subdomain,
                                            "none (restore from a backup)"))
        finally:
            await conn.close()
    return findings


def _subdomain_of(name: str) -> str | None:
    """``t_pt_abc_1a2b3c`` -> ``pt-abc`` (subdomains never contain underscores)."""
    if not name.startswith("t_") or len(name) < 10:
        return None
    return name[2:-7].replace("_", "-")


async def _drop_if_still_orphan(platform: "Platform", conn, server_id, name: str, drop_sql: str) -> str:
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
                known = (await session.execute(select(Tenant.id).where(
                    Tenant.server_id == server_id, (Tenant.db_name == name) | (Tenant.db_user == name),
                    Tenant.status != "deleted"))).first()
            if known:
                return "kept (now registered)"
            await conn.execute(drop_sql)
            return "dropped"
    except Conflict:
        return f"skipped (an operation on '{sub}' is running)"
