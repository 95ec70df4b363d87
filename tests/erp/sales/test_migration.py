"""Revision 0010 on a tenant that already has a chart of accounts: it gets 2160 Uang Muka Penjualan and
4110 Retur Penjualan (new tenants get them from the chart's seeds); a fresh database (a template) gets
no accounts from it; downgrading removes the sales tables and the two accounts."""

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from polyflow.erp.accounting.seeds import CHART
from polyflow.platform import migrate
from tests.conftest import _admin_exec


async def test_existing_chart_gets_the_sales_accounts_and_downgrade_removes_them(pg_admin):
    name = f"pf_mig_{uuid.uuid4().hex[:10]}"
    _admin_exec(pg_admin, f"CREATE DATABASE {name}")
    engine = create_async_engine(pg_admin.with_database(name).url(), poolclass=NullPool)
    sales = "SELECT code, name, type FROM accounts WHERE code IN ('2160', '4110') ORDER BY code"
    try:
        assert await migrate.upgrade(engine, "tenant", "0009") == "0009"
        async with engine.begin() as conn:  # the chart a tenant had before sales existed
            for code, title, kind in CHART:
                if code not in ("2160", "4110"):
                    await conn.execute(text("INSERT INTO accounts (code, name, type) VALUES (:c, :n, :t)"),
                                       {"c": code, "n": title, "t": kind})
        assert await migrate.upgrade(engine, "tenant", "0010") == "0010"
        async with engine.connect() as conn:
            assert [tuple(r) for r in (await conn.execute(text(sales))).all()] == [
                ("2160", "Uang Muka Penjualan", "liability"), ("4110", "Retur Penjualan", "revenue")]
            assert (await conn.execute(text("SELECT to_regclass('sales_invoices') IS NOT NULL"))).scalar()
        assert await migrate.upgrade_or_downgrade(engine, "tenant", "0009") == "0009"
        async with engine.connect() as conn:
            assert (await conn.execute(text(sales))).all() == []
            assert (await conn.execute(text("SELECT to_regclass('sales_orders')"))).scalar() is None
        # A fresh database: the tables, no accounts (its seeds bring the whole chart).
        assert await migrate.upgrade_or_downgrade(engine, "tenant", "0008") == "0008"
        async with engine.begin() as conn:
            await conn.execute(text("TRUNCATE accounts CASCADE"))
        assert await migrate.upgrade(engine, "tenant", "0010") == "0010"
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM accounts"))).scalar() == 0
    finally:
        await engine.dispose()
        _admin_exec(pg_admin, f"DROP DATABASE {name} WITH (FORCE)")
