"""Revision 0008 on a tenant that already exists (a chart of accounts, no tax codes): it gets the two
prepaid-tax accounts, the standard tax codes mapped to its accounts and an empty company tax profile; a
fresh database (a template) gets them from the seeds instead, and downgrading removes them."""

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from polyflow.erp.accounting.seeds import seed_accounts
from polyflow.erp.seeds import SeedContext
from polyflow.erp.tax.seeds import TAX_CODES, seed_tax_codes
from polyflow.platform import migrate
from tests.conftest import _admin_exec


def _codes_sql() -> str:
    return ("SELECT code, effective_from::text, rate::text, base_rule, sales_account, purchase_account "
            "FROM tax_codes ORDER BY code, effective_from")


async def test_existing_tenant_gets_accounts_tax_codes_and_profile(pg_admin):
    name = f"pf_mig_{uuid.uuid4().hex[:10]}"
    _admin_exec(pg_admin, f"CREATE DATABASE {name}")
    engine = create_async_engine(pg_admin.with_database(name).url(), poolclass=NullPool)
    try:
        assert await migrate.upgrade(engine, "tenant", "0007") == "0007"
        async with AsyncSession(engine) as session:
            await seed_accounts(session, SeedContext())  # the chart an existing tenant already has
            await session.commit()
        assert await migrate.upgrade(engine, "tenant", "0008") == "0008"
        async with engine.connect() as conn:
            migrated = [tuple(r) for r in (await conn.execute(text(_codes_sql()))).all()]
            names = dict((await conn.execute(text("SELECT code, name FROM accounts WHERE code IN ('1171', '1172')"))).all())
            profile = (await conn.execute(text("SELECT id, legal_name, is_pkp FROM company_tax_profile"))).all()
        assert len(migrated) == len(TAX_CODES) == 12
        assert ("PPN", "2025-01-01", "12.00", "dpp_11_12", "2130", None) in migrated
        assert ("PPH23", "2009-01-01", "2.00", "full", "1171", "2140") in migrated
        assert names == {"1171": "PPh 23 Dibayar Dimuka", "1172": "PPh 22 Dibayar Dimuka"}
        assert [tuple(r) for r in profile] == [(1, "", False)]

        # The seeds on top change nothing (idempotent), and give a fresh database the very same rows.
        async with AsyncSession(engine) as session:
            await seed_tax_codes(session, SeedContext())
            await session.commit()
        async with engine.connect() as conn:
            assert [tuple(r) for r in (await conn.execute(text(_codes_sql()))).all()] == migrated

        assert await migrate.upgrade_or_downgrade(engine, "tenant", "0007") == "0007"
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT to_regclass('tax_codes'), to_regclass('partners')"))).one() == (None, None)
            assert (await conn.execute(text("SELECT count(*) FROM accounts WHERE code IN ('1171', '1172')"))).scalar() == 0
    finally:
        await engine.dispose()
        _admin_exec(pg_admin, f"DROP DATABASE {name} WITH (FORCE)")


async def test_fresh_database_gets_them_from_the_seeds(pg_admin):
    name = f"pf_mig_{uuid.uuid4().hex[:10]}"
    _admin_exec(pg_admin, f"CREATE DATABASE {name}")
    engine = create_async_engine(pg_admin.with_database(name).url(), poolclass=NullPool)
    try:
        assert await migrate.upgrade(engine, "tenant", "0008") == "0008"
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM tax_codes"))).scalar() == 0
        async with AsyncSession(engine) as session:
            await seed_accounts(session, SeedContext())
            await seed_tax_codes(session, SeedContext())
            await session.commit()
        async with engine.connect() as conn:
            rows = [tuple(r) for r in (await conn.execute(text(_codes_sql()))).all()]
        assert len(rows) == 12 and ("PPN-IN", "2025-01-01", "12.00", "dpp_11_12", None, "1150") in rows
    finally:
        await engine.dispose()
        _admin_exec(pg_admin, f"DROP DATABASE {name} WITH (FORCE)")
