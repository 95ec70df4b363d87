"""MRP lead times over HTTP with hand-computed dates: a chain bag (lead 2 days) <- fabric (3) <- tape (1) <- resin
(7, bought), one unit of each per unit of its parent, no scrap and no stock, so every quantity is the sales
line's 100 and only the dates are under test. A proposal starts (or is ordered) lead time days before it is
needed; a made item's components are needed on its start; a start that would fall before the run date is the
run date and the proposal is late. The catalog keeps lead times within 0..365 days."""

from __future__ import annotations

from datetime import date, timedelta

from polyflow.erp.accounting.service import today
from tests.erp.planning.helpers import make_bom, ok, product
from tests.erp.sales.helpers import customer

LEADS = {"BAG-LT": 2, "FAB-LT": 3, "TAPE-LT": 1, "RESIN-LT": 7}


async def _chain(c, engine, due: date) -> dict[str, str]:
    """The four products with their lead times, the 1:1 BOMs and a confirmed sales line of 100 bags dated `due`
    (a sales line's order date is when the goods are due)."""
    v = {
        "bag": await product(c, "BAG-LT", "PCS", "finished_good", lead_time_days=LEADS["BAG-LT"]),
        "fabric": await product(c, "FAB-LT", "METER", "intermediate", lead_time_days=LEADS["FAB-LT"]),
        "tape": await product(c, "TAPE-LT", "KG", "intermediate", lead_time_days=LEADS["TAPE-LT"]),
        "resin": await product(c, "RESIN-LT", "KG", "raw_material", lead_time_days=LEADS["RESIN-LT"]),
    }
    await make_bom(engine, "BAG-LT", "cutting_sewing", "1", "0", [(v["fabric"], "1")])
    await make_bom(engine, "FAB-LT", "weaving", "1", "0", [(v["tape"], "1")])
    await make_bom(engine, "TAPE-LT", "extrusion", "1", "0", [(v["resin"], "1")])
    cust = await customer(c, "C-LT")
    so = await ok(await c.post("/api/v1/sales-orders", json={
        "customer_id": cust, "order_date": due.isoformat(), "location": "FG-WH",
        "lines": [{"variant_id": v["bag"], "quantity": "100", "unit_price": "2500"}]}), 201)
    await ok(await c.post(f"/api/v1/sales-orders/{so['id']}/confirm"))
    return v


def _dates(run) -> dict[str, tuple]:
    return {p["sku"]: (p["kind"], p["quantity"], p["needed_by"], p["start_by"], p["late"]) for p in run["proposals"]}


async def test_lead_times_stack_down_the_bom_and_the_approved_documents_carry_the_dates(
        make_tenant, live, tenant_engine):
    tenant = await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        d = today() + timedelta(days=20)
        v = await _chain(c, tenant_engine(tenant), d)
        run = await ok(await c.post("/api/v1/mrp/run", json={"horizon_days": 30}), 201)

        def day(n: int) -> str:
            return (d - timedelta(days=n)).isoformat()

        # bag: needed D (the sales line), start D-2; fabric: needed on the bag's start D-2, start D-2-3 = D-5;
        # tape: needed D-5, start D-5-1 = D-6; resin (bought): needed D-6, order by D-6-7 = D-13 (= today + 7,
        # not late).
        assert _dates(run) == {
            "BAG-LT": ("production", "100.000", day(0), day(2), False),
            "FAB-LT": ("production", "100.000", day(2), day(5), False),
            "TAPE-LT": ("production", "100.000", day(5), day(6), False),
            "RESIN-LT": ("purchase", "100.000", day(6), day(13), False)}
        p = {x["sku"]: x for x in run["proposals"]}

        # The bag's draft order starts on the proposal's start_by (D-2) and is due on its needed_by (D).
        a = await ok(await c.post(f"/api/v1/mrp/proposals/{p['BAG-LT']['id']}/approve"))
        order = await ok(await c.get(f"/api/v1/production-orders/{a['production_order_id']}"))
        assert (order["status"], order["planned_start"], order["due_date"]) == ("draft", day(2), day(0))
        # Approved together: fabric starts D-5, due D-2; the resin's request line says when the resin must be
        # in (D-6), its order-by date (D-13) stays on the proposal.
        ids = [p["FAB-LT"]["id"], p["RESIN-LT"]["id"]]
        r = await ok(await c.post(f"/api/v1/mrp/runs/{run['id']}/approve", json={"proposal_ids": ids}))
        got = {x["sku"]: x for x in r["approved"]}
        order = await ok(await c.get(f"/api/v1/production-orders/{got['FAB-LT']['production_order_id']}"))
        assert (order["planned_start"], order["due_date"]) == (day(5), day(2))
        pr = await ok(await c.get(f"/api/v1/purchase-requests/{got['RESIN-LT']['purchase_request_id']}"))
        assert [(ln["variant_id"], ln["quantity"], ln["needed_by"]) for ln in pr["lines"]] == [
            (v["resin"], "100.000", day(6))]
        assert (got["RESIN-LT"]["start_by"], got["RESIN-LT"]["late"]) == (day(13), False)


async def test_a_start_before_the_run_date_is_today_and_late(make_tenant, live, tenant_engine):
    tenant = await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        t = today()
        await _chain(c, tenant_engine(tenant), t + timedelta(days=5))
        run = await ok(await c.post("/api/v1/mrp/run", json={}), 201)

        def day(n: int) -> str:
            return (t + timedelta(days=n)).isoformat()

        # bag: needed T+5, start T+3; fabric: needed T+3, start T+3-3 = T: today exactly, not late;
        # tape: needed T, start T-1 is past -> T, late; resin: needed on the tape's (clamped) start T,
        # order by T-7 is past -> T, late.
        assert _dates(run) == {
            "BAG-LT": ("production", "100.000", day(5), day(3), False),
            "FAB-LT": ("production", "100.000", day(3), day(0), False),
            "TAPE-LT": ("production", "100.000", day(0), day(0), True),
            "RESIN-LT": ("purchase", "100.000", day(0), day(0), True)}
        # The flag is kept with the proposal: reading the run again shows it.
        again = await ok(await c.get(f"/api/v1/mrp/runs/{run['id']}"))
        assert _dates(again) == _dates(run)


async def test_catalog_keeps_lead_times_within_a_year(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        for bad in (400, -1, 366, 2.5):
            r = await c.post("/api/v1/products", json={"sku": "LT-BAD", "name": "Bad", "lead_time_days": bad})
            assert r.status_code == 422 and "lead_time_days" in r.text, (bad, r.text)
        made = await ok(await c.post("/api/v1/products", json={"sku": "LT-OK", "name": "Ok"}), 201)
        assert made["lead_time_days"] == 0  # the default: available the day it is ordered or started
        url = f"/api/v1/products/{made['id']}"
        assert (await ok(await c.patch(url, json={"lead_time_days": 365})))["lead_time_days"] == 365
        for bad in (400, -1):
            r = await c.patch(url, json={"lead_time_days": bad})
            assert r.status_code == 422 and "lead_time_days" in r.text, (bad, r.text)
        # null leaves it as it is (the column is NOT NULL), like the other non-nullable fields.
        assert (await ok(await c.patch(url, json={"lead_time_days": None, "name": "Ok 2"})))["lead_time_days"] == 365
        assert (await ok(await c.get(url)))["lead_time_days"] == 365
