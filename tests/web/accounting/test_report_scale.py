"""Reports that must not grow with the history: the AR / AP aging pages show one page of partners (largest
balance first; the export still has them all) and the PPN page computes a year's months in one pass, each month
identical to the API's summary of it."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from decimal import Decimal as D

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from polyflow.erp.accounting.pages import reports
from polyflow.erp.tax import ppn
from tests.erp.sales.helpers import ok, product, receive
from tests.erp.tax.test_ppn_summary import COMPANY, PKP_BUYER, SUPPLIER, buy, partner, sell, supplier_invoice
from tests.fixtures.auth import tenant_dsn
from tests.web.accounting.conftest import SUB

JV = "/api/v1/journal-entries"
PARTNER_CELL = re.compile(r'href="/partners/[0-9a-f-]+">([A-Z0-9-]+)</a>')


def _codes(html: str) -> list[str]:
    """The partner codes of the aging table, in the order shown."""
    return PARTNER_CELL.findall(html)


def _csv(response) -> list[dict]:
    assert response.status_code == 200, response.text[:500]
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


async def _receivable(api, bag: str, code: str, dpp: str) -> D:
    """A customer with one posted down-payment invoice of `dpp` (no goods needed); its open amount."""
    cust = await partner(api, {"code": code, "name": f"PT {code}", "is_customer": True, "payment_terms_days": 30})
    so = await ok(await api.post("/api/v1/sales-orders", json={
        "customer_id": cust, "order_date": "2026-11-20", "location": "WH",
        "lines": [{"variant_id": bag, "quantity": "100000", "unit_price": "100"}]}), 201)
    await ok(await api.post(f"/api/v1/sales-orders/{so['id']}/confirm"))
    dp = await ok(await api.post("/api/v1/sales-invoices", json={
        "order_id": so["id"], "invoice_date": "2026-11-20", "down_payment_amount": dpp}), 201)
    dp = await ok(await api.post(f"/api/v1/sales-invoices/{dp['id']}/post"))
    return D(dp["open_amount"])


async def test_aging_pages_are_paged_largest_first_and_export_every_row(make_tenant, live, browser, monkeypatch):
    monkeypatch.setattr(reports, "AGING_PAGE", 2)  # three partners, two per page (the live server is in-process)
    await make_tenant(SUB)
    async with live.tenant_client(SUB) as api:
        await ok(await api.post("/api/v1/locations", json={"code": "WH", "name": "Gudang Utama"}), 201)
        bag = await product(api, "WB-50", "Woven bag 50kg")
        # DPP -> total with PPN 12 % of 11/12 of the DPP: 1 000 000 -> 1 110 000 and so on.
        open_ = {code: await _receivable(api, bag, code, dpp)
                 for code, dpp in (("C-A", "1000000"), ("C-B", "3000000"), ("C-C", "2000000"))}
        assert open_ == {"C-A": D(1_110_000), "C-B": D(3_330_000), "C-C": D(2_220_000)}
        resin = (await ok(await api.post("/api/v1/products", json={
            "sku": "PP-RAF", "name": "PP raffia", "unit": "KG", "product_type": "raw_material"}), 201))["variants"][0]
        for code, qty in (("S-1", "100"), ("S-2", "300"), ("S-3", "200")):
            supplier = await partner(api, {**SUPPLIER, "code": code})
            po = await buy(api, supplier, "2026-11-20", [(resin["id"], qty, "10000")])
            await supplier_invoice(api, po, po["lines"][0], "2026-11-20", f"01000026000003{qty[0]}0")
    async with browser(["finance"]) as c:
        page = await c.get("/reports/ar-aging")
        assert page.status_code == 200
        assert _codes(page.text) == ["C-B", "C-C"]  # largest total first, one page of two
        assert "1–2 dari 3" in page.text and 'rel="next"' in page.text
        # The totals under the table are the whole report's, not the page's: 6 660 000.
        assert "Rp 6.660.000" in page.text
        page2 = await c.get("/reports/ar-aging", params={"page": "2"})
        assert _codes(page2.text) == ["C-A"] and "3–3 dari 3" in page2.text
        by_code = await c.get("/reports/ar-aging", params={"sort": "partner_code"})
        assert _codes(by_code.text) == ["C-A", "C-B"]
        rows = _csv(await c.get("/reports/ar-aging", params={"export": "csv", "page": "2"}))
        assert [(r["Kode"], D(r["Total"])) for r in rows] == [("C-B", D(3_330_000)), ("C-C", D(2_220_000)),
                                                               ("C-A", D(1_110_000))]

        ap = await c.get("/reports/ap-aging")
        # Supplier invoices: qty x 10 000 + PPN 11 % of it (3 000 000 + 330 000 = 3 330 000 first).
        assert ap.status_code == 200 and _codes(ap.text) == ["S-2", "S-3"]
        rows = _csv(await c.get("/reports/ap-aging", params={"export": "csv"}))
        assert [(r["Kode"], D(r["Total"])) for r in rows] == [("S-2", D(3_330_000)), ("S-3", D(2_220_000)),
                                                               ("S-1", D(1_110_000))]


async def test_ppn_year_in_one_pass_equals_each_months_summary(make_tenant, live, browser):
    await make_tenant(SUB)
    async with live.tenant_client(SUB) as api:
        await ok(await api.patch("/api/v1/tax/company", json=COMPANY))
        await ok(await api.post("/api/v1/locations", json={"code": "WH", "name": "Gudang Utama"}), 201)
        bag = await product(api, "WB-50", "Woven bag 50kg")
        await receive(api, bag, "10000", "1500", "2026-09-01")
        supplier, pkp = await partner(api, SUPPLIER), await partner(api, PKP_BUYER)
        resin = (await ok(await api.post("/api/v1/products", json={
            "sku": "PP-RAF", "name": "PP raffia", "unit": "KG", "product_type": "raw_material"}), 201))["variants"][0]
        # December 2025: input PPN 1 000 x 20 000 x 11 % = 2 200 000, no sales: carried into 2026.
        po = await buy(api, supplier, "2025-12-10", [(resin["id"], "1000", "20000")])
        await supplier_invoice(api, po, po["lines"][0], "2025-12-10", "0100002500000201")
        # September 2026: 1 100 000 more overpaid -> 3 300 000 carried into October and November.
        po = await buy(api, supplier, "2026-09-10", [(resin["id"], "500", "20000")])
        await supplier_invoice(api, po, po["lines"][0], "2026-09-10", "0100002600000202")
        # November: output PPN 2 750 000 - 3 300 000 carried = 550 000 overpaid, carried into December.
        await sell(api, pkp, "2026-11-05", [(bag, "10000", "2500", "0")])

    _, dsn = tenant_dsn(live.settings, SUB)
    engine = create_async_engine(dsn.url())
    monthly_reads = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _count(conn, cursor, statement, parameters, context, executemany):
        if "date_trunc" in statement:  # the monthly totals behind the carry forward
            monthly_reads.append(statement)

    try:
        async with AsyncSession(engine) as session:
            year = await ppn.ppn_summary_year(session, 2026, 12)
            reads_for_the_year = len(monthly_reads)
            one_by_one = [await ppn.ppn_summary(session, f"2026-{m:02d}") for m in range(1, 13)]
            light = await ppn.ppn_summary_year(session, 2026, 12, items=False)
    finally:
        await engine.dispose()
    assert [s.model_dump() for s in year] == [s.model_dump() for s in one_by_one]
    assert sum(len(s.output_tax.items) + len(s.input_tax.items) for s in year) == 2  # September in, November out
    # The page's totals-only variant: the same figures, no document lists.
    no_items = {"output_tax": {"items"}, "input_tax": {"items"}}
    assert [s.model_dump(exclude=no_items) for s in light] == [s.model_dump(exclude=no_items) for s in year]
    assert all(not s.output_tax.items and not s.input_tax.items for s in light)
    # One read of the monthly totals per side for the whole year (sales 1, purchasing 2), not per month.
    assert reads_for_the_year == 3
    assert [s.carried_in for s in year] == [D(2_200_000)] * 9 + [D(3_300_000)] * 2 + [D(550_000)]
    assert [s.status for s in year][8:] == ["lebih_bayar", "lebih_bayar", "lebih_bayar", "lebih_bayar"]

    async with browser(["finance"]) as c:
        rows = _csv(await c.get("/reports/ppn", params={"year": "2026", "export": "csv"}))
        shown = [(r["Bulan"], D(r["Kompensasi masuk"])) for r in rows]
        assert shown == [(s.month, s.carried_in) for s in year][:len(rows)]


async def test_profit_and_loss_reads_closing_entries_only_on_year_ends(make_tenant, live):
    from polyflow.erp.accounting import service as accounting

    def jv(on, *lines):
        return {"entry_date": on, "description": "Uji", "lines": [
            {"account": a, "debit": str(d), "credit": str(c)} for a, d, c in lines]}

    await make_tenant(SUB)
    async with live.tenant_client(SUB) as api:
        for body in (jv("2024-05-01", ("1102", 40_000_000, 0), ("4100", 0, 40_000_000)),
                     jv("2024-06-01", ("6100", 15_000_000, 0), ("1102", 0, 15_000_000)),
                     jv("2025-06-10", ("1130", 50_000_000, 0), ("4100", 0, 50_000_000)),
                     jv("2025-06-20", ("6100", 20_000_000, 0), ("1102", 0, 20_000_000)),
                     jv("2026-02-01", ("1130", 10_000_000, 0), ("4100", 0, 10_000_000)),
                     jv("2026-03-01", ("6900", 4_000_000, 0), ("1102", 0, 4_000_000))):
            await ok(await api.post(JV, json=body), 201)
        for year in (2024, 2025):
            await ok(await api.post(f"/api/v1/fiscal-years/{year}/close"), 201)

    _, dsn = tenant_dsn(live.settings, SUB)
    engine = create_async_engine(dsn.url())
    closing_reads = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _count(conn, cursor, statement, parameters, context, executemany):
        if "journal_entries.source" in statement:
            closing_reads.append(parameters)

    try:
        async with AsyncSession(engine) as session:
            both = await accounting.profit_and_loss(session, date(2024, 1, 1), date(2026, 3, 31))
            spanning = len(closing_reads)
            ytd = await accounting.profit_and_loss(session, date(2026, 1, 1), date(2026, 11, 29))
    finally:
        await engine.dispose()
    # The closing entries (31 Dec 2024 and 2025) are left out: the three years' result, 61 000 000.
    assert (both.total_revenue, both.total_expenses, both.net_profit) == (D(100_000_000), D(39_000_000),
                                                                          D(61_000_000))
    assert (ytd.total_revenue, ytd.total_expenses, ytd.net_profit) == (D(10_000_000), D(4_000_000), D(6_000_000))
    # One one-day read per 31 December in the range, none for a year to date (no year end inside it).
    assert spanning == 2 and len(closing_reads) == 2
