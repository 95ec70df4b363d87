"""Database servers (PostgreSQL clusters that hold tenant databases) and admin connections to them."""

from __future__ import annotations

import asyncpg
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from polyflow.kit.crypto import SecretBox
from polyflow.kit.db import PgDsn
from polyflow.kit.errors import Conflict, InvalidInput, NotFound, Unavailable
from polyflow.platform.models import DatabaseServer, Tenant

DEFAULT_SERVER = "default"


async def ensure_server(session: AsyncSession, secrets: SecretBox, name: str, dsn: PgDsn,
                        max_tenants: int | None = None) -> DatabaseServer:
    """Register a server, or update its connection if it exists (idempotent)."""
    server = (await session.execute(select(DatabaseServer).where(DatabaseServer.name == name))).scalar_one_or_none()
    if server is None:
        server = DatabaseServer(name=name)
        session.add(server)
    server.host, server.port, server.admin_user = dsn.host, dsn.port, dsn.user
    server.admin_password_enc = secrets.encrypt(dsn.password) if dsn.password is not None else None
    server.admin_database = dsn.database or "postgres"
    server.max_tenants = max_tenants
    server.is_active = True
    await session.flush()
    return server


def admin_dsn(server: DatabaseServer, secrets: SecretBox, database: str | None = None) -> PgDsn:
    password = secrets.decrypt(server.admin_password_enc) if server.admin_password_enc else None
    return PgDsn(server.host, server.port, server.admin_user, password, database or server.admin_database)


async def admin_connect(server: DatabaseServer, secrets: SecretBox, database: str | None = None) -> asyncpg.Connection:
    """An admin connection to a server, or a clear 503 if it cannot be reached."""
    dsn = admin_dsn(server, secrets, database)
    try:
        return await asyncpg.connect(**dsn.asyncpg_kwargs(), timeout=10)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise Unavailable(f"database server '{server.name}' ({dsn.redacted()}) is unreachable: {exc}") from None


async def pick_server(session: AsyncSession, name: str | None = None) -> DatabaseServer:
    """The named server, or the active one with the most free capacity."""
    if name is not None:
        server = (await session.execute(select(DatabaseServer).where(DatabaseServer.name == name))).scalar_one_or_none()
        if server is None:
            raise NotFound(f"no database server named '{name}'")
        if not server.is_active:
            raise InvalidInput(f"database server '{name}' is not accepting tenants")
        return server
    used = (
        select(Tenant.server_id, func.count().label("n"))
        .where(Tenant.status.not_in(("deleted", "archived")))  # those have no database
        .group_by(Tenant.server_id)
        .subquery()
    )
    rows = (
        await session.execute(
            select(DatabaseServer, func.coalesce(used.c.n, 0))
            .outerjoin(used, used.c.server_id == DatabaseServer.id)
            .where(DatabaseServer.is_active)
        )
    ).all()
    best, best_free = None, None
    for server, n in rows:
        free = (server.max_tenants - n) if server.max_tenants is not None else 1_000_000_000 - n
        if free > 0 and (best_free is None or free > best_free):
            best, best_free = server, free
    if best is None:
        raise Conflict("no active database server has free capacity; add one with `polyflow servers add`")
    return best


async def ensure_default_server(main_engine: AsyncEngine, secrets: SecretBox, dsn: PgDsn, *, refresh: bool = False) -> None:
    """The main database's cluster holds tenants until `servers add` says otherwise (first run).

    ``refresh`` (the embedded default): that cluster's port and password may differ from the last run,
    so the row is rewritten every time.
    """
    async with AsyncSession(main_engine) as session:
        if refresh or (await session.execute(select(DatabaseServer.id).limit(1))).first() is None:
            # Admin work connects to the maintenance database, not to the main database itself.
            await ensure_server(session, secrets, DEFAULT_SERVER, dsn.with_database("postgres"))
            await session.commit()
