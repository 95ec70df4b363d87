"""Template databases: one per tenant-migration head and server, migrated and seeded with reference
data once, then cloned by `CREATE DATABASE ... TEMPLATE` (tens of milliseconds instead of running
every migration for every new tenant).

The template's objects belong to a NOLOGIN role ``polyflow_template``; a clone hands them to the
tenant's own role with ``REASSIGN OWNED``. Templates are marked ``IS_TEMPLATE`` and refuse
connections, so nothing can keep them busy by accident; their names are never in the registry, so
they are never routable. When the head changes, the next onboarding builds the new template and
drops the old ones.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import zlib

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from polyflow.erp.seeds import SeedContext, registered, run_seeds
from polyflow.kit.crypto import SecretBox
from polyflow.kit.db import quote_ident
from polyflow.platform import migrate
from polyflow.platform.models import DatabaseServer
from polyflow.platform.servers import admin_connect, admin_dsn

log = logging.getLogger(__name__)

TEMPLATE_ROLE = "polyflow_template"
TEMPLATE_PREFIX = "polyflow_tpl_"
_LOCK_KEY = zlib.crc32(b"polyflow-template-build")
_REFILL_LOCK_KEY = zlib.crc32(b"polyflow-spare-refill")


def template_name(revision: str | None = None) -> str:
    return TEMPLATE_PREFIX + (revision or migrate.head("tenant"))


def reference_seeds_mark() -> str:
    """A fingerprint of the reference seeds' code, written on the template when it is seeded (a comment
    on ``alembic_version``, which every clone inherits): a clone whose mark matches already holds
    exactly what they would add, so onboarding skips them. Any change to a seed changes the mark."""
    digest = hashlib.sha256()
    for seed in sorted(registered("reference"), key=lambda s: s.name):
        digest.update(seed.name.encode())
        try:
            digest.update(inspect.getsource(seed.fn).encode())
        except (OSError, TypeError):
            digest.update(repr(seed.fn).encode())
    return "polyflow reference seeds " + digest.hexdigest()[:32]


async def has_reference_seeds(conn) -> bool:
    """Whether this (cloned) database already holds the current reference seeds (see reference_seeds_mark)."""
    mark = await conn.scalar(text("SELECT obj_description('public.alembic_version'::regclass, 'pg_class')"))
    return mark == reference_seeds_mark()


async def _exists(conn: asyncpg.Connection, name: str) -> bool:
    return bool(await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))


async def ensure_template(server: DatabaseServer, secrets: SecretBox,
                          conn: asyncpg.Connection | None = None) -> str | None:
    """The current template's name on this server, building it if needed; None if it cannot be had.

    ``conn``: an admin connection to the server to reuse (the common case: the template exists).
    """
    name = template_name()
    if conn is not None and await _exists(conn, name):
        return name
    try:
        conn = await admin_connect(server, secrets)
    except Exception as exc:
        log.warning("template check on %s failed: %s", server.name, exc)
        return None
    try:
        if await _exists(conn, name):
            return name
        # One builder per server at a time; the others wait here and then find it built.
        await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
        try:
            if await _exists(conn, name):
                return name
            await _build(conn, server, secrets, name)
            await _drop_stale(conn, keep=name)
            return name
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
    except Exception as exc:
        log.warning("building template %s on %s failed (%s); onboarding migrates from scratch", name, server.name, exc)
        return None
    finally:
        await conn.close()


async def _build(conn: asyncpg.Connection, server: DatabaseServer, secrets: SecretBox, name: str) -> None:
    building = name + "_build"
    if not await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", TEMPLATE_ROLE):
        await conn.execute(f"CREATE ROLE {quote_ident(TEMPLATE_ROLE)} NOLOGIN")
    await conn.execute(f"DROP DATABASE IF EXISTS {quote_ident(building)} WITH (FORCE)")
    await conn.execute(f"CREATE DATABASE {quote_ident(building)}")
    await conn.execute(f"REVOKE ALL ON DATABASE {quote_ident(building)} FROM PUBLIC")
    engine = create_async_engine(admin_dsn(server, secrets, building).url(), poolclass=NullPool)
    try:
        async with engine.begin() as c:
            await c.execute(text(f"GRANT CREATE ON SCHEMA public TO {quote_ident(TEMPLATE_ROLE)}"))
            # Everything the migrations create is owned by the template role.
            await c.execute(text(f"SET LOCAL ROLE {quote_ident(TEMPLATE_ROLE)}"))
            await migrate.upgrade_connection(c, "tenant")
            async with AsyncSession(bind=c) as session:
                await run_seeds(session, "reference", SeedContext())
                await session.flush()
            await c.execute(text(f"COMMENT ON TABLE public.alembic_version IS '{reference_seeds_mark()}'"))
    finally:
        await engine.dispose()
    # Publish atomically under the final name, then freeze it.
    await conn.execute(f"ALTER DATABASE {quote_ident(building)} RENAME TO {quote_ident(name)}")
    await conn.execute(f"ALTER DATABASE {quote_ident(name)} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false")
    log.info("built template %s on %s", name, server.name)


async def _drop_stale(conn: asyncpg.Connection, keep: str) -> None:
    rows = await conn.fetch("SELECT datname FROM pg_database WHERE datname LIKE $1 AND datname <> $2",
                            TEMPLATE_PREFIX + "%", keep)
    for row in rows:
        db = quote_ident(row["datname"])
        await conn.execute(f"ALTER DATABASE {db} WITH IS_TEMPLATE false")
        await conn.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


async def adopt_clone(server: DatabaseServer, secrets: SecretBox, db_name: str, owner: str) -> None:
    """Give a cloned database's objects to the tenant's role (idempotent; a no-op on a scratch database)."""
    conn = await admin_connect(server, secrets, db_name)
    try:
        if await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", TEMPLATE_ROLE):
            await conn.execute(f"REASSIGN OWNED BY {quote_ident(TEMPLATE_ROLE)} TO {quote_ident(owner)}")
            await conn.execute(f"REVOKE ALL ON SCHEMA public FROM {quote_ident(TEMPLATE_ROLE)}")
    finally:
        await conn.close()


# -- warm spares -------------------------------------------------------------------------------
# CREATE DATABASE costs a few hundred milliseconds with fsync on (the new database is written and
# flushed), whatever the template. A few spare clones of the current template are kept ready, and
# onboarding claims one with a rename (milliseconds). Spares are never in the registry (never
# routable) and are refilled off the critical path.
SPARE_PREFIX = "polyflow_spare_"


def _spare_pattern(revision: str | None = None) -> str:
    return f"{SPARE_PREFIX}{revision or migrate.head('tenant')}_%"


async def claim_spare(conn: asyncpg.Connection, db_name: str) -> bool:
    """Rename a spare of the current head to ``db_name``; False if none is ready."""
    rows = await conn.fetch("SELECT datname FROM pg_database WHERE datname LIKE $1 ORDER BY datname",
                            _spare_pattern())
    for row in rows:
        try:
            await conn.execute(f"ALTER DATABASE {quote_ident(row['datname'])} RENAME TO {quote_ident(db_name)}")
            return True
        except (asyncpg.InvalidCatalogNameError, asyncpg.ObjectInUseError):
            continue  # another onboarding took it first, or something is connected to it
    return False


async def refill_spares(server: DatabaseServer, secrets: SecretBox, count: int) -> int:
    """Top the server up to ``count`` spares of the current head (and drop spares of older heads)."""
    if count <= 0:
        return 0
    template = await ensure_template(server, secrets)
    if template is None:
        return 0
    conn = await admin_connect(server, secrets)
    try:
        # One refiller per server at a time: two would both count the same shortfall and overshoot.
        if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", _REFILL_LOCK_KEY):
            return 0
        stale = await conn.fetch("SELECT datname FROM pg_database WHERE datname LIKE $1 AND datname NOT LIKE $2",
                                 SPARE_PREFIX + "%", _spare_pattern())
        for row in stale:
            await conn.execute(f"DROP DATABASE IF EXISTS {quote_ident(row['datname'])} WITH (FORCE)")
        have = await conn.fetchval("SELECT count(*) FROM pg_database WHERE datname LIKE $1", _spare_pattern())
        made = 0
        for _ in range(count - have):
            name = f"{SPARE_PREFIX}{migrate.head('tenant')}_{secrets_token()}"
            try:
                await conn.execute(f"CREATE DATABASE {quote_ident(name)} TEMPLATE {quote_ident(template)}")
                await conn.execute(f"REVOKE ALL ON DATABASE {quote_ident(name)} FROM PUBLIC")
                made += 1
            except asyncpg.ObjectInUseError:
                break  # the template is busy (another clone): try again next time
        return made
    finally:
        await conn.close()  # also releases the advisory lock


def secrets_token() -> str:
    import secrets

    return secrets.token_hex(4)
