"""Which tenants a fleet migration looks at, and which of them need a connection at all.

Every tenant that *has a schema* follows the code: active and suspended tenants, and tenants whose
onboarding stopped after the ``migrated`` step (provisioning or failed: their database exists and
is migrated; without this a tenant stuck at ``seeded`` would drift behind and its resumed onboarding
would fail its ``verified`` check). Before that step onboarding itself migrates the database to the
head, archived tenants have no database (it was dumped and dropped) and deleted ones are gone.

The registry's ``schema_revision`` decides, with no connection opened: at the target -> skipped;
a revision this code does not know (newer code migrated it) -> skipped as "ahead"; anything else
(behind, or never recorded) -> work. `--verify` first reads each database's ``alembic_version`` and
repairs the registry.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field

import asyncpg
from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from polyflow.kit.crypto import SecretBox
from polyflow.kit.db import PgDsn
from polyflow.kit.errors import NotFound
from polyflow.platform import migrate
from polyflow.platform.models import DatabaseServer, MigrationRunTenant, Tenant, TenantDomain

SERVED = ("active", "suspended")
UNFINISHED = ("provisioning", "failed")
# Onboarding steps after which the tenant's database exists *and* is migrated.
HAS_SCHEMA_STEPS = ("migrated", "seeded", "verified", "active")


def has_schema():
    """SQL condition: the tenant's database exists and follows the tenant tree."""
    return or_(Tenant.status.in_(SERVED),
               and_(Tenant.status.in_(UNFINISHED), Tenant.onboarding_step.in_(HAS_SCHEMA_STEPS)))


@dataclass(frozen=True)
class TenantTarget:
    """What a migrator needs to reach one tenant database (plain data: it crosses process boundaries)."""

    tenant_id: uuid.UUID
    subdomain: str
    status: str
    registry_revision: str | None
    server_id: uuid.UUID
    server_name: str
    db_host: str
    db_port: int
    db_name: str
    db_user: str
    db_password_enc: str
    domains: tuple[str, ...] = ()

    @property
    def unfinished(self) -> bool:
        """Onboarding has not finished: its own run may be migrating it (we take its lock)."""
        return self.status in UNFINISHED

    def dsn(self, secrets: SecretBox) -> PgDsn:
        return self.dsn_with(secrets.decrypt(self.db_password_enc))

    def dsn_with(self, password: str) -> PgDsn:
        return PgDsn(self.db_host, self.db_port, self.db_user, password, self.db_name)


_COLUMNS = (Tenant.id, Tenant.subdomain, Tenant.status, Tenant.schema_revision, DatabaseServer.id.label("server_id"),
            DatabaseServer.name.label("server_name"), DatabaseServer.host, DatabaseServer.port, Tenant.db_name,
            Tenant.db_user, Tenant.db_password_enc)


async def load_targets(engine: AsyncEngine, *, tenant_ids: list[uuid.UUID] | None = None) -> list[TenantTarget]:
    """Every tenant with a schema (or the given ones, if they still have one), by subdomain."""
    stmt = (select(*_COLUMNS).join(DatabaseServer, Tenant.server_id == DatabaseServer.id)
            .where(has_schema()).order_by(Tenant.subdomain))
    if tenant_ids is not None:
        stmt = stmt.where(Tenant.id.in_(tenant_ids))
    async with engine.connect() as conn:
        rows = (await conn.execute(stmt)).all()
        domain_stmt = select(TenantDomain.tenant_id, TenantDomain.domain)
        if tenant_ids is not None:
            domain_stmt = domain_stmt.where(TenantDomain.tenant_id.in_(tenant_ids))
        domains: dict[uuid.UUID, list[str]] = {}
        for tid, domain in (await conn.execute(domain_stmt)).all():
            domains.setdefault(tid, []).append(domain)
    return [
        TenantTarget(r.id, r.subdomain, r.status, r.schema_revision, r.server_id, r.server_name, r.host, r.port,
                     r.db_name, r.db_user, r.db_password_enc, tuple(sorted(domains.get(r.id, ()))))
        for r in rows
    ]


@dataclass
class Plan:
    """The tenants of one run, classified from the registry (no tenant connection)."""

    target: str
    tenants: list[TenantTarget]
    work: list[TenantTarget] = field(default_factory=list)  # behind or unrecorded: need a connection
    at_target: list[TenantTarget] = field(default_factory=list)  # skipped without a connection
    ahead: list[TenantTarget] = field(default_factory=list)  # a revision newer code wrote: skipped
    repaired: list[tuple[str, str | None, str | None]] = field(default_factory=list)  # (sub, registry, actual)
    unreachable: list[tuple[TenantTarget, str]] = field(default_factory=list)  # --verify could not read

    def pending(self, t: TenantTarget) -> list[str]:
        return migrate.pending("tenant", t.registry_revision, self.target)


def classify(tenants: list[TenantTarget], target: str) -> Plan:
    plan = Plan(target, tenants)
    for t in tenants:
        if t.registry_revision == target:
            plan.at_target.append(t)
        elif t.registry_revision is not None and not migrate.is_known("tenant", t.registry_revision):
            plan.ahead.append(t)
        else:
            plan.work.append(t)
    return plan


def restrict(tenants: list[TenantTarget], only: list[str]) -> list[TenantTarget]:
    """``--only``: those subdomains; a name that is not a tenant with a schema is an error."""
    wanted = set(only)
    found = [t for t in tenants if t.subdomain in wanted]
    missing = wanted - {t.subdomain for t in found}
    if missing:
        raise NotFound("no tenant with a database named " + ", ".join(sorted(missing)))
    return found


async def failed_last_time(engine: AsyncEngine, tenant_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Tenants whose latest recorded attempt failed."""
    if not tenant_ids:
        return set()
    latest = (select(MigrationRunTenant.tenant_id, MigrationRunTenant.status)
              .where(MigrationRunTenant.tenant_id.in_(tenant_ids))
              .distinct(MigrationRunTenant.tenant_id)
              .order_by(MigrationRunTenant.tenant_id, MigrationRunTenant.id.desc()))
    async with engine.connect() as conn:
        return {tid for tid, status in (await conn.execute(latest)).all() if status == "failed"}


async def read_revision(t: TenantTarget, secrets: SecretBox) -> str | None:
    """``alembic_version`` of one tenant database, as the tenant's role (None: never migrated)."""
    conn = await asyncpg.connect(**t.dsn(secrets).asyncpg_kwargs(), timeout=10)
    try:
        try:
            return await conn.fetchval("SELECT version_num FROM alembic_version")
        except asyncpg.UndefinedTableError:
            return None
    finally:
        await conn.close()


async def verify(engine: AsyncEngine, secrets: SecretBox, tenants: list[TenantTarget], *, concurrency: int,
                 repair: bool) -> tuple[list[TenantTarget], list[tuple[str, str | None, str | None]],
                                        list[tuple[TenantTarget, str]]]:
    """Read every database's revision (no Alembic, so plain asyncio concurrency is fine) and, with
    ``repair``, correct the registry. Returns (tenants with actual revisions, repairs, unreachable)."""
    sem = asyncio.Semaphore(max(1, concurrency))

    async def one(t: TenantTarget):
        async with sem:
            try:
                return t, await read_revision(t, secrets), None
            except (OSError, asyncpg.PostgresError, asyncio.TimeoutError) as exc:
                return t, None, f"{type(exc).__name__}: {exc}"

    results = await asyncio.gather(*(one(t) for t in tenants))
    checked, repairs, unreachable = [], [], []
    for t, actual, error in results:
        if error is not None:
            unreachable.append((t, f"verify: cannot read alembic_version: {error}"))
            continue
        if actual != t.registry_revision:
            repairs.append((t, actual))
            t = TenantTarget(**{**t.__dict__, "registry_revision": actual})
        checked.append(t)
    if repair and repairs:
        async with engine.begin() as conn:
            for t, actual in repairs:
                await conn.execute(update(Tenant).where(Tenant.id == t.tenant_id, Tenant.db_name == t.db_name)
                                   .values(schema_revision=actual))
    return checked, [(t.subdomain, t.registry_revision, actual) for t, actual in repairs], unreachable
