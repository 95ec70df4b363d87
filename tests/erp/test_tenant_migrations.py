"""Upgrading a tenant database that already has products (revision 0002) gives each one a default
variant with its SKU, so the fleet migration keeps existing data usable."""

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from polyflow.platform import migrate
from tests.conftest import _admin_exec


async def test_existing_products_get_a_default_variant(pg_admin):
    name = f"pf_mig_{uuid.uuid4().hex[:10]}"
    _admin_exec(pg_admin, f"CREATE DATABASE {name}")
    engine = create_async_engine(pg_admin.with_database(name).url(), poolclass=NullPool)
    try:
        assert await migrate.upgrade(engine, "tenant", "0002") == "0002"
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO products (id, sku, name, unit, is_active, sell_price) "
                                    "VALUES (gen_random_uuid(), 'WB-50', 'Woven bag', 'PCS', true, 2350)"))
        assert await migrate.upgrade(engine, "tenant") == migrate.head("tenant")
        async with engine.connect() as conn:
            row = (await conn.execute(text(
                "SELECT v.sku, v.is_default, v.sell_price, p.product_type FROM product_variants v "
                "JOIN products p ON p.id = v.product_id"))).one()
            assert tuple(row) == ("WB-50", True, 2350, "finished_good")
        assert await migrate.upgrade_or_downgrade(engine, "tenant", "0002") == "0002"
    finally:
        await engine.dispose()
        _admin_exec(pg_admin, f"DROP DATABASE {name} WITH (FORCE)")
