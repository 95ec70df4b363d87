"""Database servers (PostgreSQL clusters that hold tenant databases) and admin connections to them.

Who may connect where: a tenant's role only to its own database (onboarding revokes the rest from
PUBLIC). `lock_down` takes the PUBLIC default CONNECT away from the main database and from each
server's ``postgres`` database too, and grants it back to the roles that need it (the platform's own
role, the server's admin role), so a tenant role cannot even open the registry or the maintenance
database. Idempotent; run by `polyflow migrate`, `polyflow dev`, when a server is added and when the
default server is ensured.
"""

from __future__ import annotations

import logging

import asyncpg
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from polyflow.kit.crypto import SecretBox
from polyflow.kit.db import PgDsn, quote_ident
from polyflow.kit.errors import Conflict, InvalidInput, NotFound, Unavailable
from polyflow.platform.models import DatabaseServer, Tenant, TenantDomain

DEFAULT_SERVER = "default"
MAINTENANCE_DB = "postgres"
log = logging.getLogger(__name__)


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
    # This server and the main database: CONNECT no longer open to every role.
    await lock_down(main_engine, secrets, only=DEFAULT_SERVER)


def _restrict_connect(database: str, roles: list[str]) -> list[str]:
    """The statements that leave CONNECT on `database` to `roles` only (not PUBLIC)."""
    db = quote_ident(database)
    return [f"REVOKE CONNECT ON DATABASE {db} FROM PUBLIC",
            *(f"GRANT CONNECT ON DATABASE {db} TO {quote_ident(role)}" for role in dict.fromkeys(r for r in roles if r))]


# PUBLIC still may connect: no ACL yet (the default grants it), or an entry "=...c.../owner".
_PUBLIC_CONNECT = ("SELECT datacl IS NULL OR EXISTS (SELECT 1 FROM unnest(datacl) a "
                   "WHERE a::text ~ '^=[A-Za-z*]*c') FROM pg_database WHERE datname = {}")


async def lock_down_main(main_engine: AsyncEngine) -> tuple[str, bool]:
    """The main database: CONNECT only for the platform's own role (the main URL's). Returns its name
    and whether PUBLIC lost CONNECT (a role that neither owns it nor is superuser only gets warnings)."""
    async with main_engine.begin() as conn:
        name, role = (await conn.execute(text("SELECT current_database(), current_user"))).one()
        for statement in _restrict_connect(name, [role]):
            await conn.execute(text(statement))
        still_open = (await conn.execute(text(_PUBLIC_CONNECT.format(":name")), {"name": name})).scalar()
    return name, not still_open


async def lock_down_server(server: DatabaseServer, secrets: SecretBox, platform_role: str,
                           main: tuple[str, int, str] | None = None) -> None:
    """A server's ``postgres`` database: CONNECT only for its admin role and the platform's role; and the
    main database again if it lives on this server (``main``: host, port, name). 503 when unreachable."""
    conn = await admin_connect(server, secrets)
    try:
        present = {r["datname"] for r in await conn.fetch("SELECT datname FROM pg_database")}
        roles = [server.admin_user, platform_role]
        statements = _restrict_connect(MAINTENANCE_DB, roles) if MAINTENANCE_DB in present else []
        if main is not None and (server.host, server.port) == main[:2] and main[2] in present:
            statements += _restrict_connect(main[2], roles)
        for statement in statements:
            await conn.execute(statement)
        # A role that neither owns `postgres` nor is superuser only gets warnings from REVOKE: say so.
        if MAINTENANCE_DB in present and await conn.fetchval(_PUBLIC_CONNECT.format("$1"), MAINTENANCE_DB):
            raise Unavailable(f"role '{server.admin_user}' may not change who connects to '{MAINTENANCE_DB}'; "
                              f"as its owner run: REVOKE CONNECT ON DATABASE {MAINTENANCE_DB} FROM PUBLIC")
    finally:
        await conn.close()


async def lock_down(main_engine: AsyncEngine, secrets: SecretBox, *, only: str | None = None) -> list[str]:
    """Take CONNECT away from PUBLIC on the main database and every active server's ``postgres``
    database (``only``: just that server's), idempotent. Returns one warning per server that could not
    be reached or changed; the main database's own step raises (this process is connected to it)."""
    name, closed = await lock_down_main(main_engine)
    warnings = [] if closed else [
        f"the main database '{name}' is still open to every role: as its owner run "
        f"REVOKE CONNECT ON DATABASE {quote_ident(name)} FROM PUBLIC"]
    url = main_engine.url
    platform_role = url.username or ""
    query = select(DatabaseServer).where(DatabaseServer.is_active)
    if only is not None:
        query = query.where(DatabaseServer.name == only)
    async with AsyncSession(main_engine) as session:
        servers = (await session.execute(query)).scalars().all()
    for server in servers:
        try:
            await lock_down_server(server, secrets, platform_role, (url.host or "", url.port or 5432, name))
        except (Unavailable, asyncpg.PostgresError) as exc:
            message = getattr(exc, "message", None) or str(exc)
            log.warning("server %s: CONNECT not restricted: %s", server.name, message)
            warnings.append(f"server '{server.name}': could not restrict CONNECT ({message})")
    return warnings


async def set_pooler(platform, name: str, address: str | None, *, actor: str = "cli") -> tuple[str | None, int | None]:
    """Put a PgBouncer (transaction mode) in front of a server's tenant traffic, or take it away (``None``).

    ``address`` is ``host:port``. The pooler must lead to this very server: the server's admin login is tried
    through it and both answers must name the same running PostgreSQL (start time and port), so a typo
    cannot send tenants to another cluster. Every process picks the new address up within a second (the
    tenants' routes are invalidated; their engines are replaced, in-flight requests finish on the old ones).
    Admin work (templates, migrations, backups, moves) keeps going to host:port."""
    from polyflow.platform.backups.copies import event  # lifecycle -> servers: imported here, not at the top

    async with AsyncSession(platform.main_engine) as session:
        server = (await session.execute(select(DatabaseServer).where(DatabaseServer.name == name))).scalar_one_or_none()
        if server is None:
            raise NotFound(f"no database server named '{name}'")
        host = port = None
        if address:
            host, sep, port_text = address.rpartition(":")
            if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
                raise InvalidInput(f"invalid pooler address '{address}': expected host:port")
            port = int(port_text)
            await _same_server(server, platform.secrets, host, port)
        server.pooler_host, server.pooler_port = host, port
        event(session, None, "server.pooler", actor, name=name, pooler=f"{host}:{port}" if host else None)
        tenants = (await session.execute(
            select(Tenant.id, Tenant.subdomain).where(Tenant.server_id == server.id, Tenant.status != "deleted"))).all()
        domains: dict = {}
        for tenant_id, domain in (await session.execute(
                select(TenantDomain.tenant_id, TenantDomain.domain).where(
                    TenantDomain.tenant_id.in_([t.id for t in tenants])))).all():
            domains.setdefault(tenant_id, []).append(domain)
        await session.commit()
    for tenant_id, subdomain in tenants:
        await platform.tenant_changed(subdomain, domains.get(tenant_id, []), tenant_id=tenant_id)
    return host, port


_IDENTITY = "SELECT pg_postmaster_start_time()::text, current_setting('port')"


async def _same_server(server: DatabaseServer, secrets: SecretBox, host: str, port: int) -> None:
    """Refuse (422 / 503) a pooler that does not answer, or that leads to another PostgreSQL than ``server``."""
    direct = await admin_connect(server, secrets)
    try:
        expected = tuple(await direct.fetchrow(_IDENTITY))
    finally:
        await direct.close()
    dsn = admin_dsn(server, secrets)
    try:
        # Pooler-safe: no named statements (the check itself runs in transaction mode).
        conn = await asyncpg.connect(host=host, port=port, user=dsn.user, password=dsn.password,
                                     database=dsn.database, statement_cache_size=0, timeout=10)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise Unavailable(f"pooler {host}:{port} does not let '{dsn.user}' into '{dsn.database}': {exc}") from None
    try:
        seen = tuple(await conn.fetchrow(_IDENTITY))
    finally:
        await conn.close()
    if seen != expected:
        raise InvalidInput(f"pooler {host}:{port} leads to another PostgreSQL than server '{server.name}' "
                           f"({server.host}:{server.port})")
