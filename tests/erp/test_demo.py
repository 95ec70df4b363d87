"""The `polyflow dev` demo plants, seeded through the trade services: books that look like a plant's
(revenue, a positive gross margin, AR/AP with something overdue) and every ledger agreeing with its
documents; seeding twice adds nothing; one plant sees none of the other's documents."""

import time
from decimal import Decimal as D

from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.demo import DEMO_TENANTS, seed_tenant

INVENTORY = ("1141", "1142", "1143", "1144")


async def _all(c, path: str) -> list[dict]:
    items, offset = [], 0
    while True:
        r = await c.get(path, params={"limit": 100, "offset": offset})
        assert r.status_code == 200, r.text
        page = r.json()
        items += page["items"]
        offset += len(page["items"])
        if not page["items"] or offset >= page["total"]:
            return items


async def test_demo_books_agree_with_their_documents(make_tenant, live, tenant_engine):
    for sub, name, products in DEMO_TENANTS:
        tenant = await make_tenant(sub, name)
        engine = tenant_engine(tenant)
        started = time.perf_counter()
        async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
            assert await seed_tenant(session, sub) == len(products)
        print(f"{sub}: seeded in {time.perf_counter() - started:.2f} s")
        async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
            assert await seed_tenant(session, sub) == 0  # the marker: products exist

    ids = {}
    for sub, _, _ in DEMO_TENANTS:
        async with live.tenant_client(sub) as c:
            tb = (await c.get("/api/v1/reports/trial-balance")).json()
            assert tb["total_debit"] == tb["total_credit"] and D(tb["total_debit"]) > 0
            gl = {r["code"]: D(r["balance"]) for r in tb["rows"]}  # balance = debit - credit

            revenue = -gl.get("4100", D(0))
            margin = revenue - gl.get("4110", D(0)) - gl.get("5100", D(0))
            assert revenue > 0 and margin > 0, (sub, revenue, margin)
            print(f"{sub}: revenue {revenue}, gross margin {margin} ({margin / revenue:.1%})")
            if sub == "pt-abc":
                assert gl["4110"] > 0  # a sales return's credit note
            # After wages, electricity, price differences and bank charges the plant still earns something.
            assert -sum((v for k, v in gl.items() if k[0] in "456"), D(0)) > 0

            valuation = (await c.get("/api/v1/stock/valuation")).json()["by_account"]
            assert {k: D(v) for k, v in valuation.items() if D(v)} == {k: gl[k] for k in INVENTORY if gl.get(k)}

            # Received not billed (credit balance) == what purchasing's order lines received and not cleared.
            orders = await _all(c, "/api/v1/purchase-orders")
            open_receipts = sum((D(ln["received_value"]) - D(ln["cleared_value"]) for o in orders
                                 for ln in o["lines"]), D(0))
            assert open_receipts > 0 and -gl.get("2120", D(0)) == open_receipts

            # Sales and purchasing serve their aging from their open amounts (shapes differ a little).
            ar = (await c.get("/api/v1/reports/ar-aging")).json()
            ap = (await c.get("/api/v1/reports/ap-aging")).json()["totals"]
            assert gl["1130"] == D(ar["total"]) > 0
            assert -gl["2110"] == D(ap["total"]) > 0
            assert D(ar["total"]) - D(ar["totals"]["current"]) > 0  # something overdue
            assert D(ap["total"]) - D(ap["current"]) > 0
            invoices = await _all(c, "/api/v1/sales-invoices")
            assert {i["status"] for i in invoices} >= {"open", "partially_paid", "paid"}
            # Each month's output invoices make a Coretax file the tax office would take (buyers complete).
            for month in sorted({i["invoice_date"][:7] for i in invoices}):
                r = await c.get("/api/v1/tax/coretax-xml", params={"month": month})
                assert r.status_code == 200, r.text
            services = [i for i in invoices if any(ln["goods_or_services"] == "B" for ln in i["lines"])]
            assert len(services) == (1 if sub == "pt-abc" else 0)
            receipts = await _all(c, "/api/v1/payments/receipts")
            assert len(receipts) >= 3
            # PPh 23 withheld by customers (on pt-abc's toll-manufacturing service) == 1171 prepaid.
            withheld = sum((D(r["withheld"]) for r in receipts), D(0))
            assert gl.get("1171", D(0)) == withheld and (withheld > 0) == (sub == "pt-abc")
            assert len(await _all(c, "/api/v1/payments/supplier-payments")) >= 2
            ids[sub] = {"po": {o["id"] for o in orders}, "si": {i["id"] for i in invoices},
                        "partners": {p["code"] for p in await _all(c, "/api/v1/partners")}}
            low = {r["sku"] for r in (await c.get("/api/v1/stock/low")).json()}
            assert not low & {"PP-GRN-NAT", "HDPE-GRN-BLK"}

    abc, xyz = ids["pt-abc"], ids["pt-xyz"]
    assert not (abc["po"] & xyz["po"]) and not (abc["si"] & xyz["si"])
    assert "SUP-RESIN" in abc["partners"] and "SUP-RESIN" not in xyz["partners"]
    async with live.tenant_client("pt-xyz") as c:
        assert (await c.get("/api/v1/products", params={"q": "PP-GRN-NAT"})).json()["total"] == 0
        for invoice_id in list(abc["si"])[:3]:
            assert (await c.get(f"/api/v1/sales-invoices/{invoice_id}")).status_code == 404
        for order_id in list(abc["po"])[:3]:
            assert (await c.get(f"/api/v1/purchase-orders/{order_id}")).status_code == 404
