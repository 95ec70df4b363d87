"""Creating a tenant: registry row, its own login role, its own database, migrations, activation.

Either the whole tenant exists and is active at the end, or nothing of it is left behind
(registry row, role and database are removed on any failure).
"""

from __future__ import annotations

import logging
import secrets as pysecrets
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import asyncpg
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import selectinload
from sqlalchemy.pool import NullPool

from polyflow.kit.crypto import SecretBox, new_password
from polyflow.kit.db import PgDsn, quote_ident
from polyflow.kit.errors import Conflict, InvalidInput, NotFound, PolyflowError
from polyflow.platform import migrate
from polyflow.platform.models import DatabaseServer, Tenant
from polyflow.platform.servers import admin_connect, pick_server
from polyflow.platform.tenancy.hosts import subdomain_problem

if TYPE_CHECKING:
    from polyflow.platform.runtime import Platform

log = logging.getLogger(__name__)


class ProvisioningError(PolyflowError):
    status_code = 500


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


def validate_new_tenant(name: str, subdomain: str) -> tuple[str, str]:
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise InvalidInput("tenant name must be 1-200 characters")
    sub = (subdomain or "").strip()
    problem = subdomain_problem(sub)
    if problem:
        raise InvalidInput(f"invalid subdomain '{sub}': {problem}")
    return name, sub


def tenant_dsn(tenant: Tenant, secrets: SecretBox) -> PgDsn:
    return PgDsn(tenant.server.host, tenant.server.port, tenant.db_user,
                 secrets.decrypt(tenant.db_password_enc), tenant.db_name)


def maintenance_engine(dsn: PgDsn) -> AsyncEngine:
    """A short-lived engine (no pool) for migrations and seeding, outside the request path."""
    return create_async_engine(dsn.url(), poolclass=NullPool)


async def create_tenant(platform: "Platform", *, name: str, subdomain: str,
                        server_name: str | None = None, plan: str = "trial") -> Tenant:
    """Create and activate a tenant with its own role and database. All or nothing."""
    name, subdomain = validate_new_tenant(name, subdomain)
    main_engine, secrets = platform.main_engine, platform.secrets
    Session = async_sessionmaker(main_engine, expire_on_commit=False)
    ident = f"t_{subdomain.replace('-', '_')}_{pysecrets.token_hex(3)}"
    password = new_password()

    async with Session() as session:
        if (await session.execute(select(Tenant.id).where(Tenant.subdomain == subdomain))).first():
            raise Conflict(f"subdomain '{subdomain}' is already taken")
        server = await pick_server(session, server_name)
        tenant = Tenant(
            name=name, subdomain=subdomain, status="provisioning", plan=plan, server=server,
            db_name=ident, db_user=ident, db_password_enc=secrets.encrypt(password),
        )
        session.add(tenant)
        try:
            await session.commit()
        except IntegrityError:
            raise Conflict(f"subdomain '{subdomain}' is already taken") from None
        tenant_id = tenant.id

    created: set[str] = set()  # what exists on the server so far ("role", "database")
    try:
        await _create_role_and_database(server, secrets, ident, password, created)
        engine = maintenance_engine(PgDsn(server.host, server.port, ident, password, ident))
        try:
            revision = await migrate.upgrade(engine, "tenant")
        finally:
            await engine.dispose()
        async with Session() as session:
            tenant = await session.get(Tenant, tenant_id)
            tenant.status = "active"
            tenant.schema_revision = revision
            tenant.activated_at = datetime.now(timezone.utc)
            await session.commit()
        # A request may have cached "no such tenant" for this name moments ago.
        await platform.tenant_changed(subdomain)
        return tenant
    except BaseException as exc:
        log.warning("creating tenant %s failed (%s); removing what was created", subdomain, exc)
        await _remove(main_engine, secrets, server, tenant_id, ident, created)
        if isinstance(exc, PolyflowError):
            raise
        if isinstance(exc, (OSError, asyncpg.PostgresError)):
            raise ProvisioningError(f"creating tenant '{subdomain}' failed: {exc}") from exc
        raise


async def _create_role_and_database(server: DatabaseServer, secrets: SecretBox, ident: str, password: str,
                                    created: set[str]) -> None:
    conn = await admin_connect(server, secrets)
    try:
        # DDL cannot take bind parameters: ident is generated from a validated subdomain and the
        # password only has URL-safe characters, and both are quoted anyway.
        await conn.execute(
            f"CREATE ROLE {quote_ident(ident)} LOGIN PASSWORD '{password}' "
            "NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION"
        )
        created.add("role")
        await conn.execute(f"CREATE DATABASE {quote_ident(ident)} OWNER {quote_ident(ident)}")
        created.add("database")
        # Only the tenant's own role (and the server admin) may connect.
        await conn.execute(f"REVOKE ALL ON DATABASE {quote_ident(ident)} FROM PUBLIC")
        await conn.execute(f"GRANT CONNECT, TEMPORARY ON DATABASE {quote_ident(ident)} TO {quote_ident(ident)}")
    finally:
        await conn.close()


async def _remove(main_engine: AsyncEngine, secrets: SecretBox, server: DatabaseServer, tenant_id, ident: str,
                  created: set[str]) -> None:
    """Best-effort cleanup of a tenant that failed half-way (database, role, registry row)."""
    if created:
        try:
            conn = await admin_connect(server, secrets)
            try:
                await conn.execute(f"DROP DATABASE IF EXISTS {quote_ident(ident)} WITH (FORCE)")
                await conn.execute(f"DROP ROLE IF EXISTS {quote_ident(ident)}")
            finally:
                await conn.close()
        except Exception as exc:
            log.error("could not remove database/role %s on server %s: %s (drop them by hand)", ident, server.name, exc)
    Session = async_sessionmaker(main_engine)
    async with Session() as session:
        tenant = await session.get(Tenant, tenant_id)
        if tenant is not None:
            await session.delete(tenant)
            await session.commit()


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
                select(Tenant).where(Tenant.subdomain == subdomain).options(selectinload(Tenant.domains))
            )
        ).scalar_one_or_none()
        if tenant is None:
            raise NotFound(f"no tenant '{subdomain}'")
        tenant.status = status
        tenant.status_reason = reason
        await session.commit()
    await platform.tenant_changed(subdomain, [d.domain for d in tenant.domains], tenant.id)
    return tenant
