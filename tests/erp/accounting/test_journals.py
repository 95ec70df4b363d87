"""Chart of accounts, manual journals (balanced in the service and in the database), numbering under
concurrency, period locks."""

import asyncio
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

JV = "/api/v1/journal-entries"


def jv(on: str, *lines, description="Test journal"):
    return {"entry_date": on, "description": description,
            "lines": [{"account": a, "debit": str(d), "credit": str(c)} for a, d, c in lines]}


async def test_chart_of_accounts_is_seeded_and_editable(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        page = (await c.get("/api/v1/accounts", params={"limit": 500})).json()
        names = {a["code"]: a["name"] for a in page["items"]}
        for name in ("Kas", "Bank", "Piutang Usaha", "Persediaan Bahan Baku", "Persediaan Barang Dalam Proses",
                     "Persediaan Barang Jadi", "PPN Masukan", "Hutang Usaha", "PPN Keluaran", "Pendapatan Penjualan",
                     "Beban Scrap", "Selisih Persediaan", "Modal Disetor", "Laba Ditahan"):
            assert name in names.values(), name
        assert page["total"] == len(page["items"]) >= 25
        assets = (await c.get("/api/v1/accounts", params={"type": "asset", "sort": "-code", "limit": 2})).json()
        assert [a["code"] for a in assets["items"]] == ["1290", "1220"]
        # 1141-1144 (1144 scrap and regrind since issue 12) and 5400 Selisih Persediaan
        assert (await c.get("/api/v1/accounts", params={"q": "persediaan"})).json()["total"] == 5
        assert (await c.get("/api/v1/accounts", params={"sort": "bogus"})).status_code == 422

        r = await c.post("/api/v1/accounts", json={"code": "1103", "name": "Bank BCA", "type": "asset"})
        assert r.status_code == 201, r.text
        r = await c.post("/api/v1/accounts", json={"code": "1103", "name": "again", "type": "asset"})
        assert r.status_code == 409 and "1103" in r.json()["detail"]
        assert (await c.post("/api/v1/accounts", json={"code": "9", "name": "x", "type": "cost"})).status_code == 422
        r = await c.patch("/api/v1/accounts/1103", json={"is_active": False})
        assert r.json()["is_active"] is False
        r = await c.post(JV, json=jv("2026-01-05", ("1103", 10, 0), ("3100", 0, 10)))
        assert r.status_code == 422 and "inactive" in r.json()["detail"]
        assert (await c.get("/api/v1/settings")).json()["ppn_rate"] == "11.00"
        r = await c.patch("/api/v1/settings", json={"ppn_rate": "12", "npwp": "01.234.567.8-901.000"})
        assert r.json()["ppn_rate"] == "12.00" and r.json()["company_name"] == "PT-ABC"


async def test_manual_journal_must_balance_and_is_numbered(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        r = await c.post(JV, json=jv("2026-02-01", ("1102", "100000000", 0), ("3100", 0, "100000000"),
                                     description="Setoran modal"))
        assert r.status_code == 201, r.text
        entry = r.json()
        assert entry["number"] == "JV/2026/00001" and len(entry["lines"]) == 2
        assert (await c.get(f"{JV}/{entry['id']}")).json()["lines"][0]["debit"] == "100000000.00"

        bad = [
            (jv("2026-02-01", ("1101", 10, 0), ("3100", 0, 9)), "does not balance"),
            (jv("2026-02-01", ("1101", 10, 0), ("9999", 0, 10)), "unknown account"),
            (jv("2026-02-01", ("1101", 10, 10), ("3100", 0, 0)), "either a debit or a credit"),
        ]
        for body, message in bad:
            r = await c.post(JV, json=body)
            assert r.status_code == 422 and message in r.json()["detail"], r.text
        assert (await c.post(JV, json=jv("2026-02-01", ("1101", -10, 0), ("3100", 0, -10)))).status_code == 422
        assert (await c.post(JV, json=jv("2026-02-01", ("1101", 10, 0)))).status_code == 422
        assert (await c.post(JV, json=jv("2026-02-01", ("1101", "0.001", 0), ("3100", 0, "0.001")))).status_code == 422
        # Refused journals took no number: the next one is 00002, and a new year starts at 00001.
        r = await c.post(JV, json=jv("2026-03-01", ("1101", 5, 0), ("1102", 0, 5)))
        assert r.json()["number"] == "JV/2026/00002"
        r = await c.post(JV, json=jv("2027-01-01", ("1101", 5, 0), ("1102", 0, 5)))
        assert r.json()["number"] == "JV/2027/00001"
        listed = (await c.get(JV, params={"account": "3100"})).json()
        assert listed["total"] == 1 and listed["items"][0]["description"] == "Setoran modal"
        listed = (await c.get(JV, params={"sort": "number", "date_from": "2026-01-01", "date_to": "2026-12-31"})).json()
        assert [e["number"] for e in listed["items"]] == ["JV/2026/00001", "JV/2026/00002"]
        assert (await c.get(f"{JV}/{uuid.uuid4()}")).status_code == 404


async def test_database_refuses_an_unbalanced_entry_at_commit(make_tenant, tenant_engine):
    tenant = await make_tenant("pt-abc")
    engine = tenant_engine(tenant)
    try:
        eid = uuid.uuid4()
        with pytest.raises(DBAPIError, match="does not balance"):
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO journal_entries (id, number, doc_type, entry_date, description) "
                                        "VALUES (:id, 'X/1', 'JV', '2026-01-01', 'bypass')"), {"id": eid})
                await conn.execute(text("INSERT INTO journal_lines (entry_id, account_code, debit) "
                                        "VALUES (:id, '1101', 10)"), {"id": eid})
                await conn.execute(text("INSERT INTO journal_lines (entry_id, account_code, credit) "
                                        "VALUES (:id, '3100', 9)"), {"id": eid})
        with pytest.raises(DBAPIError, match="does not balance"):
            async with engine.begin() as conn:  # an entry without lines
                await conn.execute(text("INSERT INTO journal_entries (id, number, doc_type, entry_date, description) "
                                        "VALUES (:id, 'X/2', 'JV', '2026-01-01', 'empty')"), {"id": eid})
        async with engine.begin() as conn:  # balanced: accepted; then changing one side is refused
            await conn.execute(text("INSERT INTO journal_entries (id, number, doc_type, entry_date, description) "
                                    "VALUES (:id, 'X/3', 'JV', '2026-01-01', 'ok')"), {"id": eid})
            await conn.execute(text("INSERT INTO journal_lines (entry_id, account_code, debit) VALUES (:id, '1101', 10)"),
                               {"id": eid})
            await conn.execute(text("INSERT INTO journal_lines (entry_id, account_code, credit) VALUES (:id, '3100', 10)"),
                               {"id": eid})
        # A posted entry's lines never change (migration 0007), balanced or not.
        with pytest.raises(DBAPIError, match="lines of a posted journal entry cannot change"):
            async with engine.begin() as conn:
                await conn.execute(text("UPDATE journal_lines SET debit = 11 WHERE entry_id = :id AND debit > 0"),
                                   {"id": eid})
        with pytest.raises(DBAPIError, match="is posted: reverse it instead"):
            async with engine.begin() as conn:
                await conn.execute(text("UPDATE journal_entries SET entry_date = '2026-01-02' WHERE id = :id"),
                                   {"id": eid})
        with pytest.raises(DBAPIError, match="is posted: reverse it instead"):
            async with engine.begin() as conn:
                await conn.execute(text("DELETE FROM journal_entries WHERE id = :id"), {"id": eid})
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM journal_entries"))).scalar_one() == 1
    finally:
        await engine.dispose()


async def test_numbers_are_unique_and_gap_free_under_concurrency(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        bodies = [jv("2026-04-10", ("1101", i + 1, 0), ("3100", 0, i + 1)) for i in range(20)]
        bodies[7] = jv("2026-04-10", ("1101", 1, 0), ("3100", 0, 2))  # refused: must not burn a number
        results = await asyncio.gather(*(c.post(JV, json=b) for b in bodies))
        numbers = sorted(r.json()["number"] for r in results if r.status_code == 201)
        assert [r.status_code for r in results].count(422) == 1
        assert numbers == [f"JV/2026/{n:05d}" for n in range(1, 20)]


async def test_posting_into_a_locked_period_is_refused(make_tenant, live, tenant_engine):
    tenant = await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        assert (await c.post(JV, json=jv("2026-03-31", ("1101", 10, 0), ("3100", 0, 10)))).status_code == 201
        r = await c.post("/api/v1/fiscal-periods/2026/3/lock")
        assert r.status_code == 200 and r.json()["is_locked"] is True
        r = await c.post(JV, json=jv("2026-03-15", ("1101", 10, 0), ("3100", 0, 10)))
        assert r.status_code == 409 and "2026-03 is locked" in r.json()["detail"]
        assert (await c.post(JV, json=jv("2026-04-01", ("1101", 10, 0), ("3100", 0, 10)))).status_code == 201
        periods = (await c.get("/api/v1/fiscal-periods", params={"year": 2026})).json()
        assert [(p["month"], p["is_locked"]) for p in periods] == [(3, True), (4, False)]
        assert (await c.post("/api/v1/fiscal-periods/2026/13/lock")).status_code == 422

    # The database refuses it too (a path that skipped the service).
    engine = tenant_engine(tenant)
    try:
        with pytest.raises(DBAPIError, match="locked"):
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO journal_entries (id, number, doc_type, entry_date, description) "
                                        "VALUES (gen_random_uuid(), 'X/1', 'JV', '2026-03-02', 'bypass')"))
    finally:
        await engine.dispose()

    async with live.tenant_client("pt-abc") as c:
        assert (await c.post("/api/v1/fiscal-periods/2026/3/unlock")).json()["is_locked"] is False
        assert (await c.post(JV, json=jv("2026-03-15", ("1101", 10, 0), ("3100", 0, 10)))).status_code == 201


async def test_locking_a_period_waits_for_a_posting_under_way(make_tenant, tenant_engine):
    """A posting holds a share lock on its period until commit: a lock taken meanwhile waits, so no
    entry can land in a period after it was reported locked."""
    from datetime import date

    from sqlalchemy.ext.asyncio import AsyncSession

    from polyflow.erp.accounting import service
    from polyflow.kit.errors import Conflict

    engine = tenant_engine(await make_tenant("pt-abc"))
    lines = [service.Line("1101", debit=10), service.Line("3100", credit=10)]
    async with AsyncSession(engine) as posting:
        await posting.begin()
        await service.post_journal(posting, doc_type="JV", entry_date=date(2026, 8, 3), description="in flight",
                                   lines=lines)

        async def lock():
            async with AsyncSession(engine) as s, s.begin():
                await service.set_period_lock(s, 2026, 8, True)

        locker = asyncio.create_task(lock())
        await asyncio.sleep(0.5)
        assert not locker.done()  # waiting for the posting
        await posting.commit()
        await asyncio.wait_for(locker, 10)
    async with AsyncSession(engine) as s, s.begin():
        with pytest.raises(Conflict, match="2026-08 is locked"):
            await service.post_journal(s, doc_type="JV", entry_date=date(2026, 8, 4), description="late", lines=lines)
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM journal_entries"))).scalar_one() == 1
