"""Running the two Alembic trees programmatically on an open connection.

Extra version locations: tests and benchmarks need tenant revisions that the product must never
ship (a column + backfill, a revision that fails on one tenant's data). `use_extra_locations` adds
folders of such revisions to a tree *for this process*; the CLI does it from
``POLYFLOW_TENANT_MIGRATIONS_EXTRA`` (or the hidden ``--tenant-migrations`` option) and the fleet's
worker processes inherit it. Without it, `head("tenant")` is the shipped code's head, which is what
the request path and onboarding compare against.
"""

from __future__ import annotations

import asyncio
import io
import os
import threading
import weakref
from contextlib import asynccontextmanager, contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Iterator

from alembic import command
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
TREES = ("main", "tenant")

# Per tree: extra folders of revisions added for this process (tests, benchmarks). Never set in production.
_EXTRA: dict[str, tuple[str, ...]] = {tree: () for tree in TREES}


def _check(tree: str) -> None:
    if tree not in TREES:
        raise ValueError(f"unknown migration tree {tree!r}")


def use_extra_locations(tree: str, paths: Iterable[str | Path]) -> None:
    """Add folders of extra revisions to ``tree`` for this process (replaces earlier extras)."""
    _check(tree)
    resolved = []
    for p in paths:
        path = Path(p).resolve()
        if not path.is_dir():
            raise ValueError(f"extra migration folder {path} does not exist")
        resolved.append(str(path))
    _EXTRA[tree] = tuple(resolved)


def extra_locations(tree: str) -> tuple[str, ...]:
    _check(tree)
    return _EXTRA[tree]


@contextmanager
def extra_locations_set(tree: str, paths: Iterable[str | Path]) -> Iterator[None]:
    """`use_extra_locations` for the duration of a block (tests)."""
    before = extra_locations(tree)
    use_extra_locations(tree, paths)
    try:
        yield
    finally:
        _EXTRA[tree] = before


def configure(settings) -> None:
    """Apply ``settings.tenant_migrations_extra`` (os.pathsep-separated folders) to this process."""
    value = getattr(settings, "tenant_migrations_extra", "") or ""
    paths = [p for p in value.split(os.pathsep) if p.strip()]
    if paths:
        use_extra_locations("tenant", paths)


def alembic_config(tree: str, extra: tuple[str, ...] | None = None) -> Config:
    """The Alembic config of a tree; ``extra`` defaults to this process's extra locations."""
    _check(tree)
    extra = _EXTRA[tree] if extra is None else extra
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS / tree))
    if extra:
        cfg.set_main_option("path_separator", "os")
        cfg.set_main_option("version_locations", os.pathsep.join([str(MIGRATIONS / tree / "versions"), *extra]))
    return cfg


@lru_cache(maxsize=None)
def _script(tree: str, extra: tuple[str, ...]) -> ScriptDirectory:
    # Building a ScriptDirectory loads every revision file: once per process and tree, not per tenant.
    return ScriptDirectory.from_config(alembic_config(tree, extra))


def script(tree: str) -> ScriptDirectory:
    _check(tree)
    return _script(tree, _EXTRA[tree])


@lru_cache(maxsize=None)
def _head(tree: str, extra: tuple[str, ...]) -> str:
    heads = _script(tree, extra).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"migration tree {tree!r} has {len(heads)} heads: {heads}")
    return heads[0]


def head(tree: str) -> str:
    """The head revision of a tree (what the running code expects; extras included if configured)."""
    _check(tree)
    return _head(tree, _EXTRA[tree])


def code_head(tree: str) -> str:
    """The head of the shipped tree, ignoring extra locations (extra revisions build on it)."""
    _check(tree)
    return _head(tree, ())


@lru_cache(maxsize=None)
def _known(tree: str, extra: tuple[str, ...]) -> frozenset[str]:
    return frozenset(r.revision for r in _script(tree, extra).walk_revisions())


def is_known(tree: str, revision: str | None) -> bool:
    """Whether this code knows ``revision`` (an unknown one was written by newer code)."""
    return revision is not None and revision in _known(tree, _EXTRA[tree])


def is_behind(tree: str, revision: str | None) -> bool:
    """A database at ``revision`` lacks something the running code needs (known, and not the head).

    None (never recorded) and revisions this code does not know (newer code migrated it: a rolling
    deploy) are not "behind"."""
    return revision is not None and revision != head(tree) and is_known(tree, revision)


def pending(tree: str, current: str | None, target: str | None = None) -> list[str]:
    """Revisions an upgrade from ``current`` to ``target`` (default: head) applies, oldest first."""
    target = target or head(tree)
    if current == target:
        return []
    revs = script(tree).iterate_revisions(target, current or "base")
    return [r.revision for r in reversed(list(revs))]


def _run_upgrade(sync_conn, tree: str, target: str) -> None:
    cfg = alembic_config(tree)
    cfg.attributes["connection"] = sync_conn
    scripts = script(tree)

    def fn(rev, context):
        return scripts._upgrade_revs(target, rev)

    with EnvironmentContext(cfg, scripts, fn=fn, destination_rev=target):
        scripts.run_env()


def _upgrade(sync_conn, tree: str, target: str) -> str | None:
    _run_upgrade(sync_conn, tree, target)
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
# ...and across threads: the fleet runs Alembic on a sync connection in a worker thread.
_THREAD_LOCK = threading.Lock()


@asynccontextmanager
async def _alembic_turn():
    """This process's one turn at Alembic, from a coroutine: the loop's lock, then the thread lock
    (polled, so a cancelled waiter can never leave it taken)."""
    async with _alembic_lock():
        while not _THREAD_LOCK.acquire(blocking=False):
            await asyncio.sleep(0.005)
        try:
            yield
        finally:
            _THREAD_LOCK.release()


def upgrade_sync(sync_conn, tree: str, target: str) -> None:
    """Run Alembic on a *sync* connection, inside its transaction, from a thread (the fleet's tenant
    connections). Takes the process's Alembic turn like the async callers do."""
    with _THREAD_LOCK:
        _run_upgrade(sync_conn, tree, target)


async def upgrade_connection(conn: AsyncConnection, tree: str, target: str = "head") -> str | None:
    """Upgrade within the connection's transaction (PostgreSQL DDL is transactional). Returns the new revision.

    A database already at the target is answered without entering Alembic (a cloned tenant, a re-run).
    """
    goal = head(tree) if target == "head" else target
    current = await current_revision(conn)
    if current == goal:
        return current
    async with _alembic_turn():
        return await conn.run_sync(_upgrade, tree, goal)


async def upgrade(engine: AsyncEngine, tree: str, target: str = "head") -> str | None:
    """Upgrade a database in one transaction: all of it applies, or none of it."""
    async with engine.begin() as conn:
        return await upgrade_connection(conn, tree, target)


async def upgrade_or_downgrade(engine: AsyncEngine, tree: str, target: str) -> str | None:
    """Move a database to ``target`` in one transaction, downgrading if it is behind the current one."""
    async with engine.begin() as conn:
        current = await current_revision(conn)
        ahead = target == "base" or (current is not None and target in
                                     {r.revision for r in script(tree).iterate_revisions(current, "base")})
        async with _alembic_turn():
            return await conn.run_sync(_downgrade if ahead else _upgrade, tree, target)


async def current_revision(conn: AsyncConnection) -> str | None:
    return await conn.run_sync(_current)


def offline_sql(tree: str, start: str | None, target: str | None = None) -> str:
    """The SQL an upgrade from ``start`` (None: an empty database) to ``target`` runs, from Alembic's
    offline mode (nothing is connected). Synchronous: call it outside any running migration."""
    cfg = alembic_config(tree)
    buf = io.StringIO()
    cfg.output_buffer = buf
    cfg.attributes["url"] = "postgresql://"
    goal = target or head(tree)
    command.upgrade(cfg, f"{start}:{goal}" if start else goal, sql=True)
    return buf.getvalue()


# Revisions whose upgrade() looks at the database (reads data, inspects the schema) or behaves
# differently offline: their offline SQL is not what an online upgrade would do.
_ONLINE_ONLY_MARKERS = ("get_bind", "is_offline_mode", "get_context", "inspect(", "run_async")


def upgrade_script(tree: str, start: str, target: str) -> str | None:
    """The SQL that upgrades a database at ``start`` to ``target``, rendered once per process by
    Alembic's offline mode (version-table updates included, no BEGIN/COMMIT: the caller's
    transaction holds it), or None when a revision on the way needs Python against the database
    (an ``op.get_bind()`` query, a schema inspection): such upgrades run online."""
    _check(tree)
    return _upgrade_script(tree, _EXTRA[tree], start, target)


@lru_cache(maxsize=256)
def _upgrade_script(tree: str, extra: tuple[str, ...], start: str, target: str) -> str | None:
    scripts = _script(tree, extra)
    try:
        revs = list(scripts.iterate_revisions(target, start))
    except Exception:  # not an ancestor (a downgrade, an unknown revision): not ours to render
        return None
    if not revs or any(_needs_online(r) for r in revs):
        return None
    cfg = alembic_config(tree, extra)
    buf = io.StringIO()
    cfg.output_buffer = buf
    cfg.attributes["url"] = "postgresql://"

    def fn(rev, context):
        return scripts._upgrade_revs(target, rev)

    try:
        with _THREAD_LOCK, EnvironmentContext(cfg, scripts, fn=fn, as_sql=True, starting_rev=start,
                                              destination_rev=target, output_buffer=buf):
            scripts.run_env()
    except Exception:  # a revision that cannot render offline: it runs online
        return None
    sql = buf.getvalue().strip()
    # The offline script is one BEGIN ... COMMIT block (transactional DDL); the caller's transaction
    # (advisory lock, revision check) takes its place.
    if not (sql.startswith("BEGIN;") and sql.endswith("COMMIT;")):
        return None
    body = sql[len("BEGIN;"):-len("COMMIT;")].strip()
    return body or None


def _needs_online(rev) -> bool:
    try:
        source = Path(rev.path).read_text()
    except OSError:
        return True
    return any(marker in source for marker in _ONLINE_ONLY_MARKERS)
