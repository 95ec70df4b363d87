"""Revision 0013 on a tenant that already has units, a chart and products: the floor's missing units and the
manufacturing accounts are added (what the tenant had is left as it was), scrap already in stock keeps its
value in 1143 (no journal from a migration) and the upgrade logs it, existing products get the actual
costing method and no reorder quantity, the database refuses a standard-costed product without a cost, a
stocked service, and a conversion factor of zero; a fresh database (a template) gets no units or accounts
from it; downgrading removes the conversions and the accounts nothing posted to."""

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from polyflow.platform import migrate
from tests.conftest import _admin_exec

FLOOR_ACCOUNTS = "SELECT code, name, type FROM accounts WHERE code IN ('1144', '2170', '4300', '5610', '5620', " \
                 "'5720') ORDER BY code"


async def _refused(engine, sql: str, constraint: str) -> None:
    with pytest.raises(IntegrityError, match=constraint):
        async with engine.begin() as conn:
            await conn.execute(text(sql))


async def test_existing_tenant_gets_units_accounts_and_product_defaults(pg_admin, caplog):
    name = f"pf_mig_{uuid.uuid4().hex[:10]}"
    _admin_exec(pg_admin, f"CREATE DATABASE {name}")
    engine = create_async_engine(pg_admin.with_database(name).url(), poolclass=NullPool)
    try:
        assert await migrate.upgrade(engine, "tenant", "0012") == "0012"
        async with engine.begin() as conn:  # what a tenant had before 0013 (ZAK under its own name)
            await conn.execute(text("INSERT INTO units (code, name, kind) VALUES ('KG', 'Kilogram', 'mass'), "
                                    "('ZAK', 'Karung', 'package')"))
            await conn.execute(text("INSERT INTO accounts (code, name, type) VALUES ('1143', 'Persediaan Barang "
                                    "Jadi', 'asset'), ('4300', 'Pendapatan Sewa', 'revenue')"))
            await conn.execute(text("INSERT INTO products (id, sku, name, unit, is_active, product_type) VALUES "
                                    "(gen_random_uuid(), 'SCRAP-PP', 'PP scrap', 'KG', true, 'scrap')"))
            # 60 kg of scrap in stock at 5 000, valued in 1143 before 0013.
            await conn.execute(text("INSERT INTO product_variants (id, product_id, sku, name, is_default, qty_total, "
                                    "stock_value) SELECT gen_random_uuid(), id, sku, name, true, 60, 300000 "
                                    "FROM products"))
        caplog.set_level("WARNING", logger="polyflow.migrations")
        assert await migrate.upgrade(engine, "tenant", "0013") == "0013"
        # No journal from a migration: the scrap's value stays in 1143 and the upgrade says so.
        assert f"database {name}: scrap stock worth 300000.00 is in 1143" in caplog.text
        async with engine.connect() as conn:
            units = dict((await conn.execute(text("SELECT code, name FROM units"))).all())
            assert units == {"KG": "Kilogram", "ZAK": "Karung", "ROLL": "Roll", "BAL": "Bal (bale)", "PCS": "Pieces",
                             "KARTON": "Karton (carton)", "METER": "Meter"}
            assert [tuple(r) for r in (await conn.execute(text(FLOOR_ACCOUNTS))).all()] == [
                ("1144", "Persediaan Scrap dan Regrind", "asset"), ("2170", "Hutang Upah Borongan", "liability"),
                ("4300", "Pendapatan Sewa", "revenue"),  # the tenant's own 4300 is left as it is
                ("5610", "Selisih Kuantitas Produksi", "expense"), ("5620", "Selisih Harga Produksi", "expense"),
                ("5720", "Biaya Overhead Pabrik Dibebankan", "expense")]
            row = (await conn.execute(text("SELECT costing_method, standard_cost, reorder_qty FROM products"))).one()
            assert tuple(row) == ("actual", None, 0)

        await _refused(engine, "UPDATE products SET costing_method = 'standard'", "ck_products_standard_cost_given")
        await _refused(engine, "UPDATE products SET product_type = 'service', min_stock = 5",
                       "ck_products_service_unstocked")
        await _refused(engine, "INSERT INTO product_unit_conversions (product_id, unit, factor) "
                               "SELECT id, 'ZAK', 0 FROM products", "ck_product_unit_conversions_factor")
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE products SET product_type = 'auxiliary'"))
            await conn.execute(text("INSERT INTO product_unit_conversions (product_id, unit, factor) "
                                    "SELECT id, 'ZAK', 25 FROM products"))
            await conn.execute(text("UPDATE products SET product_type = 'scrap'"))

        assert await migrate.upgrade_or_downgrade(engine, "tenant", "0012") == "0012"
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT to_regclass('product_unit_conversions')"))).scalar() is None
            assert [r[0] for r in (await conn.execute(text(FLOOR_ACCOUNTS))).all()] == ["4300"]
        # A fresh database: the columns and the table, no units or accounts (its seeds bring them).
        async with engine.begin() as conn:
            await conn.execute(text("TRUNCATE units, accounts, products, product_variants CASCADE"))
        assert await migrate.upgrade(engine, "tenant", "0013") == "0013"
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT (SELECT count(*) FROM units) + "
                                            "(SELECT count(*) FROM accounts)"))).scalar() == 0
    finally:
        await engine.dispose()
        _admin_exec(pg_admin, f"DROP DATABASE {name} WITH (FORCE)")
