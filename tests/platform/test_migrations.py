"""Both Alembic trees: migrations produce exactly what the models declare, and downgrade cleanly."""

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from polyflow.kit.db import MainBase, TenantBase
from polyflow.platform import migrate
from tests.conftest import _admin_exec


def _diff(sync_conn, metadata):
    ctx = MigrationContext.configure(sync_conn, opts={"compare_type": True, "compare_server_default": True})
    ignore = {"alembic_version"} | {f"procrastinate_{t}" for t in ("jobs", "events", "periodic_defers", "workers")}
    return [d for d in compare_metadata(ctx, metadata) if not _about(d, ignore)]


def _about(diff, ignored_tables) -> bool:
    """Alembic reports removed tables as ('remove_table', Table); ours come from procrastinate."""
    item = diff[0] if isinstance(diff, list) else diff
    obj = item[1] if len(item) > 1 else None
    table = getattr(obj, "name", None) if item[0] == "remove_table" else getattr(getattr(obj, "table", None), "name", None)
    return table in ignored_tables or (item[0] in ("remove_index", "remove_constraint") and
                                       str(getattr(obj, "name", "")).startswith("procrastinate"))


@pytest.mark.parametrize("tree,metadata", [("main", MainBase.metadata), ("tenant", TenantBase.metadata)])
async def test_models_match_migrations_and_downgrade_works(pg_admin, tree, metadata):
    name = f"pf_mig_{uuid.uuid4().hex[:10]}"
    _admin_exec(pg_admin, f"CREATE DATABASE {name}")
    engine = create_async_engine(pg_admin.with_database(name).url(), poolclass=NullPool)
    try:
        assert await migrate.upgrade(engine, tree) == migrate.head(tree)
        async with engine.connect() as conn:
            assert await conn.run_sync(_diff, metadata) == []
        assert await migrate.upgrade_or_downgrade(engine, tree, "base") is None
        assert await migrate.upgrade(engine, tree) == migrate.head(tree)
    finally:
        await engine.dispose()
        _admin_exec(pg_admin, f"DROP DATABASE {name} WITH (FORCE)")


async def test_concurrent_migrations_in_one_process_each_land_on_their_own_database(pg_admin):
    """Alembic's `op` is a module global; interleaved runs must not mix up their connections."""
    import asyncio

    names = [f"pf_mig_{uuid.uuid4().hex[:10]}" for _ in range(4)]
    _admin_exec(pg_admin, *(f"CREATE DATABASE {n}" for n in names))
    engines = [create_async_engine(pg_admin.with_database(n).url(), poolclass=NullPool) for n in names]
    try:
        revisions = await asyncio.gather(*(migrate.upgrade(e, "tenant") for e in engines))
        assert revisions == [migrate.head("tenant")] * 4
        for engine in engines:
            async with engine.connect() as conn:
                assert await conn.run_sync(_diff, TenantBase.metadata) == []
    finally:
        for engine in engines:
            await engine.dispose()
        _admin_exec(pg_admin, *(f"DROP DATABASE {n} WITH (FORCE)" for n in names))
