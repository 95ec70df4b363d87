"""Revision 0011 on a tenant that already has a chart of accounts: it gets 6910 Beban Administrasi Bank (new
tenants get it from the chart's seeds); a fresh database gets no account from it; downgrading removes the
payments tables and the account. The database itself refuses a payment whose amounts do not tie out."""

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from polyflow.erp.accounting.seeds import CHART
from polyflow.platform import migrate
from tests.conftest import _admin_exec

BANK_FEES = "SELECT code, name, type FROM accounts WHERE code = '6910'"


async def test_existing_chart_gets_6910_and_downgrade_removes_it(pg_admin):
    name = f"pf_mig_{uuid.uuid4().hex[:10]}"
    _admin_exec(pg_admin, f"CREATE DATABASE {name}")
    engine = create_async_engine(pg_admin.with_database(name).url(), poolclass=NullPool)
    try:
        assert await migrate.upgrade(engine, "tenant", "0010") == "0010"
        async with engine.begin() as conn:  # the chart a tenant had before payments existed
            for code, title, kind in CHART:
                if code != "6910":
                    await conn.execute(text("INSERT INTO accounts (code, name, type) VALUES (:c, :n, :t)"),
                                       {"c": code, "n": title, "t": kind})
        assert await migrate.upgrade(engine, "tenant", "0011") == "0011"
        async with engine.connect() as conn:
            assert [tuple(r) for r in (await conn.execute(text(BANK_FEES))).all()] == [
                ("6910", "Beban Administrasi Bank", "expense")]
            assert (await conn.execute(text("SELECT to_regclass('payment_allocations') IS NOT NULL"))).scalar()
        # A payment whose figures do not tie out (100 received + 0 charges + 0 withheld <> 150 allocated).
        # (One transaction, rolled back by the refusal: the entry and partner it needs go with it.)
        with pytest.raises(IntegrityError, match="ck_payments_ties_out"):
            async with engine.begin() as conn:
                await conn.execute(text(
                    "INSERT INTO partners (id, code, name, is_customer) VALUES (gen_random_uuid(), 'C', 'C', true)"))
                await conn.execute(text(
                    "INSERT INTO journal_entries (id, number, doc_type, status, entry_date, description, source) "
                    "VALUES (gen_random_uuid(), 'X/1', 'RCV', 'posted', '2026-11-02', 'x', 'payments')"))
                await conn.execute(text(
                    "INSERT INTO payments (id, number, direction, partner_id, payment_date, account_code, amount, "
                    "allocated, journal_entry_id) SELECT gen_random_uuid(), 'RCV/2026/09999', 'in', p.id, "
                    "'2026-11-02', '1102', 100, 150, j.id FROM partners p, journal_entries j"))
        assert await migrate.upgrade_or_downgrade(engine, "tenant", "0010") == "0010"
        async with engine.connect() as conn:
            assert (await conn.execute(text(BANK_FEES))).all() == []
            assert (await conn.execute(text("SELECT to_regclass('payments')"))).scalar() is None
        # A fresh database: the tables, no account (its seeds bring the whole chart).
        async with engine.begin() as conn:
            await conn.execute(text("TRUNCATE accounts CASCADE"))
        assert await migrate.upgrade(engine, "tenant", "0011") == "0011"
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM accounts"))).scalar() == 0
    finally:
        await engine.dispose()
        _admin_exec(pg_admin, f"DROP DATABASE {name} WITH (FORCE)")
