"""Migrating the main database and every tenant database.

Sequential for now; the fleet-migration issue makes this parallel, resumable and locked.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from polyflow.platform import migrate
from polyflow.platform.models import Tenant
from polyflow.platform.provisioning import maintenance_engine, tenant_dsn
from polyflow.platform.runtime import Platform

# Tenants whose database exists and must follow the code's schema.
MIGRATABLE = ("active", "suspended")


@dataclass
class TenantMigration:
    subdomain: str
    from_revision: str | None
    to_revision: str | None
    seconds: float
    error: str | None = None


async def migrate_main(platform: Platform) -> str | None:
    return await migrate.upgrade(platform.main_engine, "main")


async def migrate_tenants(platform: Platform, on_done: Callable[[TenantMigration], None] | None = None
                          ) -> list[TenantMigration]:
    """Upgrade every tenant database to the tenant head, one transaction each; record revisions."""
    Session = async_sessionmaker(platform.main_engine, expire_on_commit=False)
    async with Session() as session:
        tenants = (
            await session.execute(select(Tenant).where(Tenant.status.in_(MIGRATABLE)).order_by(Tenant.subdomain))
        ).scalars().all()
    results = []
    for tenant in tenants:
        started = time.perf_counter()
        result = TenantMigration(tenant.subdomain, tenant.schema_revision, tenant.schema_revision, 0.0)
        try:
            engine = maintenance_engine(tenant_dsn(tenant, platform.secrets))
            try:
                result.to_revision = await migrate.upgrade(engine, "tenant")
            finally:
                await engine.dispose()
            async with Session() as session:
                row = await session.get(Tenant, tenant.id)
                row.schema_revision = result.to_revision
                await session.commit()
        except Exception as exc:  # record and go on with the next tenant
            result.error = f"{type(exc).__name__}: {exc}"
        result.seconds = time.perf_counter() - started
        results.append(result)
        if on_done:
            on_done(result)
    return results
