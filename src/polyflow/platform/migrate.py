"""Running the two Alembic trees programmatically on an open connection."""

from __future__ import annotations

import asyncio
import weakref
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
TREES = ("main", "tenant")


def alembic_config(tree: str) -> Config:
    if tree not in TREES:
        raise ValueError(f"unknown migration tree {tree!r}")
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS / tree))
    return cfg


@lru_cache(maxsize=None)
def head(tree: str) -> str:
    """The head revision of a tree (what the running code expects)."""
    heads = ScriptDirectory.from_config(alembic_config(tree)).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"migration tree {tree!r} has {len(heads)} heads: {heads}")
    return heads[0]


def _upgrade(sync_conn, tree: str, target: str) -> str | None:
    cfg = alembic_config(tree)
    cfg.attributes["connection"] = sync_conn
    command.upgrade(cfg, target)
    return MigrationContext.configure(sync_conn).get_current_revision()


def _downgrade(sync_conn, tree: str, target: str) -> str | None:
    cfg = alembic_config(tree)
    cfg.attributes["connection"] = sync_conn
    command.downgrade(cfg, target)
    return MigrationContext.configure(sync_conn).get_current_revision()


def _current(sync_conn) -> str | None:
    return MigrationContext.configure(sync_conn).get_current_revision()


def _alembic_lock() -> asyncio.Lock:
    """Alembic keeps its `context` and `op` in module globals: two migrations interleaved on one
    event loop would run each other's operations on the wrong connection. So within a process they
    take turns (fleet-wide parallelism comes from several processes)."""
    loop = asyncio.get_running_loop()
    lock = _LOCKS.get(loop)
    if lock is None:
        lock = _LOCKS[loop] = asyncio.Lock()
    return lock


_LOCKS: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]" = weakref.WeakKeyDictionary()


async def upgrade_connection(conn: AsyncConnection, tree: str, target: str = "head") -> str | None:
    """Upgrade within the connection's transaction (PostgreSQL DDL is transactional). Returns the new revision.

    A database already at the head is answered without entering Alembic (a cloned tenant, a re-run).
    """
    if target == "head":
        current = await current_revision(conn)
        if current == head(tree):
            return current
    async with _alembic_lock():
        return await conn.run_sync(_upgrade, tree, target)


async def upgrade(engine: AsyncEngine, tree: str, target: str = "head") -> str | None:
    """Upgrade a database in one transaction: all of it applies, or none of it."""
    async with engine.begin() as conn:
        return await upgrade_connection(conn, tree, target)


async def upgrade_or_downgrade(engine: AsyncEngine, tree: str, target: str) -> str | None:
    """Move a database to ``target`` in one transaction, downgrading if it is behind the current one."""
    async with engine.begin() as conn:
        current = await current_revision(conn)
        script = ScriptDirectory.from_config(alembic_config(tree))
        ahead = target == "base" or (current is not None and target in
                                     {r.revision for r in script.iterate_revisions(current, "base")})
        async with _alembic_lock():
            return await conn.run_sync(_downgrade if ahead else _upgrade, tree, target)


async def current_revision(conn: AsyncConnection) -> str | None:
    return await conn.run_sync(_current)
