"""Journals as an accountant needs them (issue 11, section 1): drafts posted later, posted entries never
edited but reversed on a chosen date (once), and the year-end close into Laba Ditahan with a balance
sheet that shows the open year's earnings only."""

from decimal import Decimal as D

JV = "/api/v1/journal-entries"


def jv(on, *lines, description="Test journal", **kw):
    return {"entry_date": on, "description": description, **kw,
            "lines": [{"account": a, "debit": str(d), "credit": str(c)} for a, d, c in lines]}


async def _tb(c, date_to, date_from=None):
    params = {"date_to": date_to, **({"date_from": date_from} if date_from else {})}
    rows = (await c.get("/api/v1/reports/trial-balance", params=params)).json()["rows"]
    return {r["code"]: D(r["balance"]) for r in rows}


async def test_drafts_are_posted_later_and_posted_entries_are_only_reversed(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        r = await c.post(JV, json=jv("2026-11-03", ("6100", 1_500_000, 0), ("1101", 0, 1_500_000), status="draft"))
        assert r.status_code == 201, r.text
        draft = r.json()
        assert draft["status"] == "draft" and draft["number"] == "DRAFT-" + draft["id"].replace("-", "")[:12].upper()
        assert [(l["account_code"], l["debit"]) for l in draft["lines"]] == [("6100", "1500000.00"), ("1101", "0.00")]
        assert "6100" not in await _tb(c, "2026-11-30")  # a draft is in no report
        page = await c.get("/journal")
        assert page.status_code == 200 and draft["number"] in page.text and "Rp 1.500.000" in page.text
        r = await c.patch(f"{JV}/{draft['id']}", json=jv("2026-11-04", ("6100", 1_750_000, 0), ("1101", 0, 1_750_000),
                                                         status="draft", description="Upah lembur"))
        assert r.status_code == 200 and r.json()["lines"][0]["debit"] == "1750000.00"
        r = await c.patch(f"{JV}/{draft['id']}", json=jv("2026-11-04", ("6100", 1, 0), ("1101", 0, 2), status="draft"))
        assert r.status_code == 422 and "does not balance" in r.json()["detail"]
        r = await c.post(f"{JV}/{draft['id']}/post")
        assert r.status_code == 200, r.text
        posted = r.json()
        assert (posted["status"], posted["number"], posted["entry_date"]) == ("posted", "JV/2026/00001", "2026-11-04")
        assert (await _tb(c, "2026-11-30"))["6100"] == D(1_750_000)

        # Posted: never edited, never deleted, never posted twice.
        r = await c.patch(f"{JV}/{posted['id']}", json=jv("2026-11-04", ("6100", 1, 0), ("1101", 0, 1)))
        assert r.status_code == 409 and "never edited; reverse it instead" in r.json()["detail"]
        assert (await c.delete(f"{JV}/{posted['id']}")).status_code == 409
        assert (await c.post(f"{JV}/{posted['id']}/post")).status_code == 409

        # Reversal on a chosen date: a new posted entry with the sides swapped, linked both ways.
        r = await c.post(f"{JV}/{posted['id']}/reverse", json={"entry_date": "2026-11-01"})
        assert r.status_code == 422 and "before the entry it reverses" in r.json()["detail"]
        r = await c.post(f"{JV}/{posted['id']}/reverse", json={"entry_date": "2026-11-10"})
        assert r.status_code == 201, r.text
        reversal = r.json()
        assert (reversal["number"], reversal["entry_date"], reversal["reversal_of_id"]) == (
            "JV/2026/00002", "2026-11-10", posted["id"])
        assert {(l["account_code"], l["debit"], l["credit"]) for l in reversal["lines"]} == {
            ("6100", "0.00", "1750000.00"), ("1101", "1750000.00", "0.00")}
        assert (await c.get(f"{JV}/{posted['id']}")).json()["reversed_by_id"] == reversal["id"]
        assert (await _tb(c, "2026-11-09"))["6100"] == D(1_750_000)
        assert (await _tb(c, "2026-11-30"))["6100"] == 0
        r = await c.post(f"{JV}/{posted['id']}/reverse", json={"entry_date": "2026-11-11"})
        assert r.status_code == 409 and "already reversed by JV/2026/00002" in r.json()["detail"]

        # Stock journals are reversed by stock movements; drafts are deleted, not reversed.
        await c.post("/api/v1/products", json={"sku": "PP", "name": "PP", "product_type": "raw_material"})
        gr = (await c.post("/api/v1/stock-movements", json={"kind": "IN", "sku": "PP", "quantity": "1",
                                                            "to_location": "RM-WH", "unit_cost": "100",
                                                            "posting_date": "2026-11-05"})).json()
        r = await c.post(f"{JV}/{gr['journal_entry_id']}/reverse", json={})
        assert r.status_code == 409 and "comes from inventory" in r.json()["detail"]
        other = (await c.post(JV, json=jv("2026-11-05", ("6100", 5, 0), ("1101", 0, 5), status="draft"))).json()
        assert (await c.post(f"{JV}/{other['id']}/reverse", json={})).status_code == 409
        assert (await c.delete(f"{JV}/{other['id']}")).status_code == 204
        assert (await c.get(f"{JV}/{other['id']}")).status_code == 404


async def test_year_end_close_into_retained_earnings(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        for body in (jv("2025-03-01", ("1102", 100_000_000, 0), ("3100", 0, 100_000_000)),
                     jv("2025-06-10", ("1130", 50_000_000, 0), ("4100", 0, 50_000_000)),
                     jv("2025-06-20", ("6100", 20_000_000, 0), ("1102", 0, 20_000_000)),
                     jv("2025-07-01", ("6200", 5_000_000, 0), ("1102", 0, 5_000_000)),
                     jv("2026-02-01", ("1130", 10_000_000, 0), ("4100", 0, 10_000_000)),
                     jv("2026-03-01", ("6900", 4_000_000, 0), ("1102", 0, 4_000_000))):
            assert (await c.post(JV, json=body)).status_code == 201

        async def sheet(as_of):
            bs = (await c.get("/api/v1/reports/balance-sheet", params={"as_of": as_of})).json()
            assert bs["total_assets"] == bs["total_equity"]  # no liabilities here
            equity = {r["code"]: D(r["amount"]) for r in bs["equity"]}
            return equity, D(bs["current_earnings"]), D(bs["prior_years_unclosed_earnings"]), D(bs["total_equity"])

        # Before the close: 2026 shows its own result only; 2025's waits apart until closed.
        assert await sheet("2026-03-31") == ({"3100": D(100_000_000)}, D(6_000_000), D(25_000_000), D(131_000_000))
        assert (await c.post("/api/v1/fiscal-years/2026/close")).status_code == 422  # not over yet

        r = await c.post("/api/v1/fiscal-years/2025/close")
        assert r.status_code == 201, r.text
        close = r.json()
        assert (close["number"], close["entry_date"], close["source"]) == ("CLS/2025/00001", "2025-12-31", "closing")
        assert {(l["account_code"], l["debit"], l["credit"]) for l in close["lines"]} == {
            ("4100", "50000000.00", "0.00"), ("6100", "0.00", "20000000.00"), ("6200", "0.00", "5000000.00"),
            ("3200", "0.00", "25000000.00")}
        after = {"3100": D(100_000_000), "3200": D(25_000_000)}
        assert await sheet("2026-03-31") == (after, D(6_000_000), D(0), D(131_000_000))
        assert await sheet("2025-12-31") == (after, D(0), D(0), D(125_000_000))
        assert await sheet("2025-06-30") == ({"3100": D(100_000_000)}, D(30_000_000), D(0), D(130_000_000))
        # The year's P&L still shows its result (the closing entry is not revenue or expense).
        pl = (await c.get("/api/v1/reports/profit-and-loss", params={"date_from": "2025-01-01",
                                                                      "date_to": "2025-12-31"})).json()
        assert (pl["total_revenue"], pl["total_expenses"], pl["net_profit"]) == (
            "50000000.00", "25000000.00", "25000000.00")

        r = await c.post("/api/v1/fiscal-years/2025/close")
        assert r.status_code == 409 and "nothing to close in 2025" in r.json()["detail"]
        r = await c.post(f"{JV}/{close['id']}/reverse", json={"entry_date": "2026-01-02"})
        assert r.status_code == 409 and "year-end close" in r.json()["detail"]

        # A late 2025 expense (no lock date here) is a prior-year item until the year is closed again.
        assert (await c.post(JV, json=jv("2025-12-15", ("6900", 1_000_000, 0), ("1102", 0, 1_000_000)))).status_code == 201
        assert await sheet("2026-03-31") == (after, D(6_000_000), D(-1_000_000), D(130_000_000))
        r = await c.post("/api/v1/fiscal-years/2025/close")
        assert r.status_code == 201 and r.json()["number"] == "CLS/2025/00002"
        assert await sheet("2026-03-31") == ({"3100": D(100_000_000), "3200": D(24_000_000)}, D(6_000_000), D(0),
                                             D(130_000_000))


async def test_moving_the_lock_date_waits_for_a_posting_under_way(make_tenant, tenant_engine):
    """A posting share-locks the settings row until commit: closing the books meanwhile waits, so no entry
    lands on a day after that day was reported closed."""
    import asyncio
    from datetime import date

    import pytest
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import AsyncSession

    from polyflow.erp.accounting import service
    from polyflow.kit.errors import Conflict

    engine = tenant_engine(await make_tenant("pt-abc"))
    lines = [service.Line("1101", debit=10), service.Line("3100", credit=10)]
    async with AsyncSession(engine) as posting:
        await posting.begin()
        await service.post_journal(posting, doc_type="JV", entry_date=date(2026, 8, 3), description="in flight",
                                   lines=lines)

        async def close():
            async with AsyncSession(engine) as s, s.begin():
                await service.set_books_closed_through(s, date(2026, 8, 31), may_reopen=False)

        closer = asyncio.create_task(close())
        await asyncio.sleep(0.5)
        assert not closer.done()  # waiting for the posting
        await posting.commit()
        await asyncio.wait_for(closer, 10)
    async with AsyncSession(engine) as s, s.begin():
        with pytest.raises(Conflict, match="closed through 2026-08-31"):
            await service.post_journal(s, doc_type="JV", entry_date=date(2026, 8, 4), description="late", lines=lines)
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM journal_entries"))).scalar_one() == 1
