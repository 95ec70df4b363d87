"""Tenant lookups in the main database, behind the route cache (never called per request on a hit)."""

from __future__ import annotations

import uuid

from sqlalchemy import func, literal, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncEngine

from polyflow.platform.entitlement_rules import compute_entitlements
from polyflow.platform.models import DatabaseServer, Plan, Tenant, TenantDomain, TenantModule
from polyflow.platform.tenancy.route import TenantRoute

_COLUMNS = (
    Tenant.id, Tenant.subdomain, Tenant.name, Tenant.status,
    # Requests go through the server's pooler when it has one (admin work keeps using host:port).
    func.coalesce(DatabaseServer.pooler_host, DatabaseServer.host).label("host"),
    func.coalesce(DatabaseServer.pooler_port, DatabaseServer.port).label("port"),
    DatabaseServer.pooler_host.is_not(None).label("pooled"),
    Tenant.db_name, Tenant.db_user, Tenant.db_password_enc, Tenant.schema_revision,
    Tenant.plan, Plan.max_users, Plan.modules, Plan.trial_days, Tenant.trial_ends_at, Tenant.migrating_until,
    Tenant.updated_at,
)
_BY_SUBDOMAIN = (
    select(*_COLUMNS)
    .join(DatabaseServer, Tenant.server_id == DatabaseServer.id)
    .join(Plan, Plan.code == Tenant.plan)
)
_BY_DOMAIN = _BY_SUBDOMAIN.join(TenantDomain, TenantDomain.tenant_id == Tenant.id)
_GRANTS = select(TenantModule.module, TenantModule.expires_at).where(
    or_(TenantModule.expires_at.is_(None), TenantModule.expires_at > func.now())
)


# (tenant id, the row's updated_at as Unix time, the tenant's route keys)
Change = tuple[uuid.UUID, float, list[str]]


def route_key(kind: str, name: str) -> str:
    """Cache key: ``sub:<subdomain>`` or ``dom:<custom domain>``."""
    return f"{kind}:{name}"


class Registry:
    """Loads routes from the main database. Deleted tenants do not route."""

    def __init__(self, main_engine: AsyncEngine):
        self._engine = main_engine

    async def keys(self) -> set[str]:
        """Every key that may route: the subdomains and custom domains of tenants not deleted (one query)."""
        stmt = union_all(
            select(literal("sub:").concat(Tenant.subdomain)).where(Tenant.status != "deleted"),
            select(literal("dom:").concat(TenantDomain.domain))
            .join(Tenant, Tenant.id == TenantDomain.tenant_id).where(Tenant.status != "deleted"),
        )
        async with self._engine.connect() as conn:
            return set((await conn.execute(stmt)).scalars())

    async def load(self, key: str) -> TenantRoute | None:
        kind, _, name = key.partition(":")
        if kind == "sub":
            stmt = _BY_SUBDOMAIN.where(Tenant.subdomain == name)
        elif kind == "dom":
            stmt = _BY_DOMAIN.where(TenantDomain.domain == name)
        else:
            raise ValueError(f"bad route key {key!r}")
        stmt = stmt.where(Tenant.status != "deleted")
        async with self._engine.connect() as conn:
            row = (await conn.execute(stmt)).first()
            if row is None:
                return None
            grants = (await conn.execute(_GRANTS.where(TenantModule.tenant_id == row.id))).all()
        return TenantRoute(
            id=row.id, subdomain=row.subdomain, name=row.name, status=row.status, db_host=row.host,
            db_port=row.port, db_name=row.db_name, db_user=row.db_user, db_password_enc=row.db_password_enc,
            schema_revision=row.schema_revision, plan=row.plan, max_users=row.max_users,
            entitlements=compute_entitlements(row.modules, row.trial_days > 0, row.trial_ends_at, grants),
            migrating_until=row.migrating_until.timestamp() if row.migrating_until else None, pooled=row.pooled,
            version=row.updated_at.timestamp() if row.updated_at else None,
        )

    async def changed_since(self, since: float | None, margin: float) -> tuple[float, list[Change]]:
        """Tenants whose row changed after ``since - margin`` (Unix time; None: the last ``margin`` seconds), as
        (the database's clock now, [(tenant id, updated_at, its route keys)]); two short queries, one connection.
        Deleted tenants are included (their keys must go too).

        The margin covers transactions that started (now() is their start) before the previous poll and
        committed after it; the caller skips rows whose version it has already seen."""
        domains = select(func.array_agg(TenantDomain.domain)).where(
            TenantDomain.tenant_id == Tenant.id).scalar_subquery()
        cutoff = func.now() - func.make_interval(0, 0, 0, 0, 0, 0, margin) if since is None else \
            func.to_timestamp(since - margin)
        stmt = select(Tenant.id, Tenant.subdomain, func.extract("epoch", Tenant.updated_at), domains).where(
            Tenant.updated_at > cutoff)
        async with self._engine.connect() as conn:
            now = float(await conn.scalar(select(func.extract("epoch", func.now()))))
            rows = (await conn.execute(stmt)).all()
        changed = [
            (tid, float(version), [route_key("sub", sub), *(route_key("dom", d) for d in doms or ())])
            for tid, sub, version, doms in rows
        ]
        return now, changed
