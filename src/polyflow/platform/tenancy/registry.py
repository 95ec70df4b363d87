"""Tenant lookups in the main database, behind the route cache (never called per request on a hit)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from polyflow.platform.models import DatabaseServer, Tenant, TenantDomain
from polyflow.platform.tenancy.route import TenantRoute

_COLUMNS = (
    Tenant.id, Tenant.subdomain, Tenant.name, Tenant.status, DatabaseServer.host, DatabaseServer.port,
    Tenant.db_name, Tenant.db_user, Tenant.db_password_enc, Tenant.schema_revision,
)
_BY_SUBDOMAIN = select(*_COLUMNS).join(DatabaseServer, Tenant.server_id == DatabaseServer.id)
_BY_DOMAIN = _BY_SUBDOMAIN.join(TenantDomain, TenantDomain.tenant_id == Tenant.id)


def route_key(kind: str, name: str) -> str:
    """Cache key: ``sub:<subdomain>`` or ``dom:<custom domain>``."""
    return f"{kind}:{name}"


class Registry:
    """Loads routes from the main database. Deleted tenants do not route."""

    def __init__(self, main_engine: AsyncEngine):
        self._engine = main_engine

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
        return TenantRoute(*row) if row else None
