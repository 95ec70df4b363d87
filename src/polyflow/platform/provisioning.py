"""Tenant registry helpers: summaries, status changes, tenant connections for maintenance.

Creating a tenant is `onboarding` (a resumable state machine); `create_tenant` here is its one-call form.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import selectinload
from sqlalchemy.pool import NullPool

from polyflow.kit.crypto import SecretBox
from polyflow.kit.db import PgDsn
from polyflow.kit.errors import NotFound
from polyflow.platform.models import Tenant

if TYPE_CHECKING:
    from polyflow.platform.runtime import Platform

log = logging.getLogger(__name__)


@dataclass
class TenantSummary:
    subdomain: str
    name: str
    status: str
    plan: str
    server: str
    db_name: str
    schema_revision: str | None
    created_at: datetime

    @classmethod
    def of(cls, t: Tenant) -> "TenantSummary":
        return cls(t.subdomain, t.name, t.status, t.plan, t.server.name, t.db_name, t.schema_revision, t.created_at)


def tenant_dsn(tenant: Tenant, secrets: SecretBox) -> PgDsn:
    return PgDsn(tenant.server.host, tenant.server.port, tenant.db_user,
                 secrets.decrypt(tenant.db_password_enc), tenant.db_name)


def maintenance_engine(dsn: PgDsn) -> AsyncEngine:
    """A short-lived engine (no pool) for migrations and seeding, outside the request path."""
    # Without the statement/idle limits the tenant's role carries for request work.
    return create_async_engine(dsn.url(), poolclass=NullPool, connect_args={"server_settings": {
        "statement_timeout": "0", "idle_in_transaction_session_timeout": "0"}})


async def create_tenant(platform: "Platform", *, name: str, subdomain: str, server_name: str | None = None,
                        plan: str = "trial", admin_email: str | None = None) -> Tenant:
    """Onboard a tenant end to end (see `onboarding`); returns the active tenant."""
    from polyflow.platform import onboarding

    result = await onboarding.onboard(platform, name=name, subdomain=subdomain, admin_email=admin_email,
                                      plan=plan, server_name=server_name)
    return result.tenant


async def describe(main_engine: AsyncEngine, subdomain: str) -> dict:
    """One tenant's registry record as plain data (for `tenants show` and the admin API)."""
    async with AsyncSession(main_engine) as session:
        tenant = (
            await session.execute(
                select(Tenant).where(Tenant.subdomain == subdomain).options(selectinload(Tenant.domains))
                .order_by(Tenant.status == "deleted", Tenant.created_at.desc())
            )
        ).scalars().first()
        if tenant is None:
            raise NotFound(f"no tenant '{subdomain}'")
        return {
            "subdomain": tenant.subdomain, "name": tenant.name, "status": tenant.status,
            "status_reason": tenant.status_reason, "plan": tenant.plan, "trial_ends_at": tenant.trial_ends_at,
            "admin_email": tenant.admin_email, "server": tenant.server.name, "db_name": tenant.db_name,
            "db_user": tenant.db_user, "schema_revision": tenant.schema_revision,
            "onboarding_step": tenant.onboarding_step, "onboarding_attempts": tenant.onboarding_attempts,
            "onboarding_error": tenant.onboarding_error, "domains": [d.domain for d in tenant.domains],
            "created_at": tenant.created_at, "activated_at": tenant.activated_at,
            "archived_at": tenant.archived_at, "deleted_at": tenant.deleted_at,
        }


async def list_tenants(main_engine: AsyncEngine) -> list[TenantSummary]:
    Session = async_sessionmaker(main_engine)
    async with Session() as session:
        rows = (await session.execute(select(Tenant).order_by(Tenant.subdomain))).scalars().all()
        return [TenantSummary.of(t) for t in rows]


async def set_status(platform: "Platform", subdomain: str, status: str, reason: str | None = None) -> Tenant:
    """Change a tenant's status; every app process sees it within a second (route invalidation)."""
    async with AsyncSession(platform.main_engine, expire_on_commit=False) as session:
        tenant = (
            await session.execute(
                select(Tenant).where(Tenant.subdomain == subdomain, Tenant.status != "deleted")
                .options(selectinload(Tenant.domains)).with_for_update(of=Tenant)
            )
        ).scalar_one_or_none()
        if tenant is None:
            raise NotFound(f"no tenant '{subdomain}'")
        tenant.status = status
        tenant.status_reason = reason
        await session.commit()
    await platform.tenant_changed(subdomain, [d.domain for d in tenant.domains], tenant.id)
    return tenant
