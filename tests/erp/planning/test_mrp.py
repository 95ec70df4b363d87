"""MRP-lite over HTTP with hand-computed figures: a three-level woven-bag BOM (bag <- fabric <- tape <- resin,
resin also coating the fabric, so resin sits at two levels and is netted once, at the deepest), expected scrap
at every level, stock at three levels (and fabric in quarantine that must not count), a reorder point on resin
and a purchase request already open for it. Approvals create a draft purchase request and draft production
orders; the next run counts them as supply and supersedes what was still proposed; bad input is 4xx."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal as D

from sqlalchemy import text

from polyflow.erp.accounting.service import today
from tests.erp.planning.helpers import make_bom, ok, product, receive
from tests.erp.sales.helpers import customer


async def _setup(c, engine) -> dict[str, str]:
    v = {
        "bag": await product(c, "BAG-25", "PCS", "finished_good"),
        "fabric": await product(c, "FAB-W", "METER", "intermediate"),
        "tape": await product(c, "TAPE-PP", "KG", "intermediate"),
        "resin": await product(c, "RESIN-PP", "KG", "raw_material", min_stock="100", reorder_qty="500"),
    }
    # bag: 1 fabric metre per bag, 5 % scrap; fabric: 8 kg tape + 1 kg resin (coating) per 100 m, 2.5 % scrap;
    # tape: 1 kg resin per kg, 10 % scrap.
    await make_bom(engine, "BAG-25", "cutting_sewing", "1", "5", [(v["fabric"], "1")])
    await make_bom(engine, "FAB-W", "weaving", "100", "2.5", [(v["tape"], "8"), (v["resin"], "1")])
    await make_bom(engine, "TAPE-PP", "extrusion", "1", "10", [(v["resin"], "1")])
    await receive(c, v["bag"], "200", "FG-WH")
    await receive(c, v["fabric"], "140", "RM-WH")
    await ok(await c.post("/api/v1/locations", json={"code": "QC-HOLD", "name": "QC hold", "kind": "quarantine"}),
             201)
    await receive(c, v["fabric"], "1000", "QC-HOLD")  # quarantined: not available
    await receive(c, v["resin"], "50", "RM-WH")
    # 100 kg resin already requested: open supply.
    await ok(await c.post("/api/v1/purchase-requests", json={"lines": [{"variant_id": v["resin"], "quantity": "100"}]}),
             201)
    cust = await customer(c, "C-BAG")
    so = await ok(await c.post("/api/v1/sales-orders", json={
        "customer_id": cust, "order_date": today().isoformat(), "location": "FG-WH",
        "lines": [{"variant_id": v["bag"], "quantity": "1000", "unit_price": "2500"}]}), 201)
    so = await ok(await c.post(f"/api/v1/sales-orders/{so['id']}/confirm"))
    assert so["lines"][0]["qty_reserved"] == "200.000"  # the 200 bags on hand are set aside for it
    v["so_line"] = so["lines"][0]["id"]
    return v


def _by_sku(run) -> dict[str, dict]:
    return {p["sku"]: p for p in run["proposals"]}


async def test_three_level_bom_netted_level_by_level_approved_and_superseded(make_tenant, live, tenant_engine):
    tenant = await make_tenant("pt-abc")
    engine = tenant_engine(tenant)
    async with live.tenant_client("pt-abc") as c:
        v = await _setup(c, engine)
        run1 = await ok(await c.post("/api/v1/mrp/run", json={}), 201)
        on = today().isoformat()
        assert (run1["number"], run1["run_date"], run1["horizon_days"], run1["levels"]) == (
            f"MRP/{today().year}/00001", on, 30, 4)
        assert (run1["production_count"], run1["purchase_count"], run1["superseded_count"], run1["total"]) == (
            3, 1, 0, 4)
        p = _by_sku(run1)
        # Level 0, bag: 1 000 ordered - 200 reserved from stock = 800 open; available 200 - 200 = 0 -> make 800.
        # Level 1, fabric: 800 x 1 x 1.05 = 840 m; 140 m available (the 1 000 m in quarantine do not count)
        #   -> make 700 m.
        # Level 2, tape: 700 / 100 x 8 x 1.025 = 57.4 kg, none in stock -> make 57.4 kg.
        # Level 3, resin (used by fabric at level 2 and by tape at level 3: netted once, at 3):
        #   fabric 700 / 100 x 1 x 1.025 = 7.175 + tape 57.4 x 1 x 1.10 = 63.14 -> 70.315 kg gross;
        #   projected = 50 on hand + 100 requested - 70.315 = 79.685 < 100 (reorder point)
        #   -> buy 100 + 500 - 79.685 = 520.315 kg.
        assert {s: (x["level"], x["kind"], x["quantity"], x["status"]) for s, x in p.items()} == {
            "BAG-25": (0, "production", "800.000", "proposed"),
            "FAB-W": (1, "production", "700.000", "proposed"),
            "TAPE-PP": (2, "production", "57.400", "proposed"),
            "RESIN-PP": (3, "purchase", "520.315", "proposed")}
        assert [x["sku"] for x in run1["proposals"]] == ["BAG-25", "FAB-W", "TAPE-PP", "RESIN-PP"]
        bag, fab, tape, resin = p["BAG-25"], p["FAB-W"], p["TAPE-PP"], p["RESIN-PP"]
        assert (bag["sales_demand"], bag["available"], bag["sales_order_line_ids"], bag["parent_proposal_ids"]) == (
            "800.000", "0.000", [v["so_line"]], [])
        assert (fab["dependent_demand"], fab["available"], fab["parent_proposal_ids"]) == (
            "840.000", "140.000", [bag["id"]])
        assert (tape["dependent_demand"], tape["parent_proposal_ids"]) == ("57.400", [fab["id"]])
        assert (resin["dependent_demand"], resin["available"], resin["open_supply"], resin["reorder_point"],
                resin["reorder_qty"], resin["by_reorder"]) == ("70.315", "50.000", "100.000", "100.000", "500.000",
                                                               True)
        assert set(resin["parent_proposal_ids"]) == {fab["id"], tape["id"]}
        assert all(x["needed_by"] == on for x in run1["proposals"])
        assert bag["bom_id"] is not None and resin["bom_id"] is None

        # Reading: filters and pages.
        r = await ok(await c.get(f"/api/v1/mrp/runs/{run1['id']}", params={"kind": "purchase"}))
        assert (r["total"], [x["sku"] for x in r["proposals"]]) == (1, ["RESIN-PP"])
        r = await ok(await c.get(f"/api/v1/mrp/runs/{run1['id']}", params={"limit": 2, "offset": 2}))
        assert (r["total"], [x["sku"] for x in r["proposals"]]) == (4, ["TAPE-PP", "RESIN-PP"])
        runs = await ok(await c.get("/api/v1/mrp/runs"))
        assert (runs["total"], runs["items"][0]["id"]) == (1, run1["id"])

        # Approve: the resin purchase becomes a draft purchase request, the bag a draft production order.
        a = await ok(await c.post(f"/api/v1/mrp/proposals/{resin['id']}/approve"))
        assert a["status"] == "approved" and a["purchase_request_id"] and a["production_order_id"] is None
        pr = await ok(await c.get(f"/api/v1/purchase-requests/{a['purchase_request_id']}"))
        assert pr["status"] == "draft"
        assert [(ln["variant_id"], ln["quantity"], ln["needed_by"]) for ln in pr["lines"]] == [
            (v["resin"], "520.315", on)]
        r = await c.post(f"/api/v1/mrp/proposals/{resin['id']}/approve")
        assert r.status_code == 409 and "already" in r.json()["detail"], r.text
        a = await ok(await c.post(f"/api/v1/mrp/proposals/{bag['id']}/approve"))
        async with engine.connect() as conn:
            order = (await conn.execute(text(
                "SELECT status, variant_id, quantity, bom_id, due_date, sales_order_line_id FROM production_orders"
                " WHERE id = :id"), {"id": uuid.UUID(a["production_order_id"])})).one()
        assert (order.status, str(order.variant_id), order.quantity, str(order.bom_id), order.due_date.isoformat(),
                str(order.sales_order_line_id)) == ("draft", v["bag"], D("800.000"), bag["bom_id"], on, v["so_line"])

        # Run 2 counts the documents: the bag order (800) covers the bag; its BOM still to issue is 840 m of
        # fabric -> fabric 840 - 140 = 700 and tape 57.4 again; resin: 70.315 against 50 + 100 + 520.315 =
        # 670.315 -> projected 600 >= 100, nothing to buy. The fabric and tape of run 1 are superseded.
        run2 = await ok(await c.post("/api/v1/mrp/run", json={"horizon_days": 60}), 201)
        assert run2["superseded_count"] == 2
        p2 = _by_sku(run2)
        assert {s: (x["kind"], x["quantity"]) for s, x in p2.items()} == {
            "FAB-W": ("production", "700.000"), "TAPE-PP": ("production", "57.400")}
        assert (p2["FAB-W"]["order_demand"], p2["FAB-W"]["parent_proposal_ids"]) == ("840.000", [])
        old = {x["sku"]: x["status"] for x in (await ok(await c.get(f"/api/v1/mrp/runs/{run1['id']}")))["proposals"]}
        assert old == {"BAG-25": "approved", "FAB-W": "superseded", "TAPE-PP": "superseded", "RESIN-PP": "approved"}
        r = await c.post(f"/api/v1/mrp/proposals/{fab['id']}/approve")
        assert r.status_code == 409 and "superseded" in r.json()["detail"] and "later MRP run" in r.json()["detail"]

        # Bulk: a proposal of another run is refused (nothing approved), then both of run 2 together.
        ids = [p2["FAB-W"]["id"], p2["TAPE-PP"]["id"]]
        r = await c.post(f"/api/v1/mrp/runs/{run2['id']}/approve", json={"proposal_ids": ids + [tape["id"]]})
        assert r.status_code == 422 and "not proposals of this run" in r.json()["detail"], r.text
        r = await ok(await c.post(f"/api/v1/mrp/runs/{run2['id']}/approve", json={"proposal_ids": ids}))
        assert sorted((x["sku"], x["status"]) for x in r["approved"]) == [("FAB-W", "approved"),
                                                                           ("TAPE-PP", "approved")]
        assert all(x["production_order_id"] for x in r["approved"])
        r = await c.post(f"/api/v1/mrp/runs/{run2['id']}/approve", json={"proposal_ids": ids})
        assert r.status_code == 409 and "already" in r.json()["detail"]
        r = await c.post(f"/api/v1/mrp/proposals/{ids[0]}/reject")
        assert r.status_code == 409

        # Run 3: every need is covered by a document now (fabric 700 and tape 57.4 ordered; their BOMs' resin is
        # the 70.315 already netted) -> no proposal.
        run3 = await ok(await c.post("/api/v1/mrp/run", json={}), 201)
        assert (run3["total"], run3["superseded_count"]) == (0, 0)
        async with engine.connect() as conn:
            counts = (await conn.execute(text(
                "SELECT (SELECT count(*) FROM production_orders WHERE status = 'draft'),"
                " (SELECT count(*) FROM purchase_requests)"))).one()
        assert tuple(counts) == (3, 2)


async def test_reject_location_filter_and_bad_input(make_tenant, live, tenant_engine):
    tenant = await make_tenant("pt-abc")
    engine = tenant_engine(tenant)
    async with live.tenant_client("pt-abc") as c:
        await _setup(c, engine)
        # Planned for RM-WH only: the sales order (FG-WH) does not count, so neither do bag, fabric for it,
        # tape; resin: 50 available, 100 requested (purchase documents carry no location), no demand ->
        # 150 >= 100, nothing. Fabric: nothing either.
        r = await ok(await c.post("/api/v1/mrp/run", json={"location": "rm-wh"}), 201)
        assert r["total"] == 0 and r["location_id"] is not None
        # Without reorder points: resin 50 + 100 - 70.315 = 79.685 >= 0 -> nothing to buy; the rest as before.
        r = await ok(await c.post("/api/v1/mrp/run", json={"include_reorder": False}), 201)
        assert {x["sku"]: x["quantity"] for x in r["proposals"]} == {
            "BAG-25": "800.000", "FAB-W": "700.000", "TAPE-PP": "57.400"}
        # Without sales orders: only the reorder point: resin 50 + 100 = 150 >= 100 -> nothing.
        r2 = await ok(await c.post("/api/v1/mrp/run", json={"include_sales": False}), 201)
        assert (r2["total"], r2["superseded_count"]) == (0, 3)

        r = await ok(await c.post("/api/v1/mrp/run", json={}), 201)
        tape = _by_sku(r)["TAPE-PP"]
        x = await ok(await c.post(f"/api/v1/mrp/proposals/{tape['id']}/reject"))
        assert (x["status"], x["production_order_id"], x["decided_by"] is not None) == ("rejected", None, True)
        for verb in ("approve", "reject"):
            y = await c.post(f"/api/v1/mrp/proposals/{tape['id']}/{verb}")
            assert y.status_code == 409 and "is rejected already" in y.json()["detail"], y.text

        for body in ({"horizon_days": -1}, {"horizon_days": 400}, {"horizon_days": "soon"}, {"extra": 1},
                     {"location": ""}):
            y = await c.post("/api/v1/mrp/run", json=body)
            assert y.status_code == 422, (body, y.text)
        y = await c.post("/api/v1/mrp/run", json={"location": "NOWHERE"})
        assert y.status_code == 422 and "unknown location 'NOWHERE'" in y.json()["detail"]
        y = await c.post("/api/v1/mrp/run", json={"location": "QC-HOLD"})
        assert y.status_code == 422 and "quarantine" in y.json()["detail"]
        missing = str(uuid.uuid4())
        assert (await c.get(f"/api/v1/mrp/runs/{missing}")).status_code == 404
        assert (await c.post(f"/api/v1/mrp/proposals/{missing}/approve")).status_code == 404
        assert (await c.post(f"/api/v1/mrp/proposals/{missing}/reject")).status_code == 404
        assert (await c.post(f"/api/v1/mrp/runs/{missing}/approve", json={"proposal_ids": [tape["id"]]})
                ).status_code == 404
        assert (await c.post(f"/api/v1/mrp/runs/{r['id']}/approve", json={"proposal_ids": []})).status_code == 422
        assert (await c.get(f"/api/v1/mrp/runs/{r['id']}", params={"kind": "gift"})).status_code == 422
        assert (await c.get("/api/v1/mrp/runs/not-a-uuid")).status_code == 422
        # Nothing of the refused calls was written: the runs are the four above.
        assert (await ok(await c.get("/api/v1/mrp/runs")))["total"] == 4


async def test_another_tenant_cannot_see_or_decide_proposals(make_tenant, live):
    await make_tenant("pt-abc")
    await make_tenant("pt-xyz")
    async with live.tenant_client("pt-abc") as abc, live.tenant_client("pt-xyz") as xyz:
        await product(abc, "ABC-RESIN", "KG", "raw_material", min_stock="10", reorder_qty="40")
        run = await ok(await abc.post("/api/v1/mrp/run", json={}), 201)
        proposal = _by_sku(run)["ABC-RESIN"]
        assert proposal["quantity"] == "50.000"  # 0 available < 10 -> 10 + 40 - 0
        assert (await ok(await xyz.get("/api/v1/mrp/runs")))["total"] == 0
        assert (await xyz.get(f"/api/v1/mrp/runs/{run['id']}")).status_code == 404
        for verb in ("approve", "reject"):
            r = await xyz.post(f"/api/v1/mrp/proposals/{proposal['id']}/{verb}")
            assert r.status_code == 404 and "ABC-RESIN" not in r.text
        r = await xyz.post(f"/api/v1/mrp/runs/{run['id']}/approve", json={"proposal_ids": [proposal["id"]]})
        assert r.status_code == 404
        # pt-xyz's own run plans nothing of pt-abc's.
        assert (await ok(await xyz.post("/api/v1/mrp/run", json={}), 201))["total"] == 0
        after = await ok(await abc.get(f"/api/v1/mrp/runs/{run['id']}"))
        assert [(x["sku"], x["status"]) for x in after["proposals"]] == [("ABC-RESIN", "proposed")]
        assert (await ok(await abc.get("/api/v1/purchase-requests")))["total"] == 0


async def test_two_planners_approving_the_same_proposal_at_once_make_one_document(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as a, live.tenant_client("pt-abc") as b:
        await product(a, "RACE-RESIN", "KG", "raw_material", min_stock="10", reorder_qty="40")
        run = await ok(await a.post("/api/v1/mrp/run", json={}), 201)
        proposal = _by_sku(run)["RACE-RESIN"]
        url = f"/api/v1/mrp/proposals/{proposal['id']}/approve"
        first, second = await asyncio.gather(a.post(url), b.post(url))
        assert sorted((first.status_code, second.status_code)) == [200, 409], (first.text, second.text)
        loser = first if first.status_code == 409 else second
        assert "is approved already" in loser.json()["detail"]
        assert (await ok(await a.get("/api/v1/purchase-requests")))["total"] == 1


async def test_an_inactive_product_is_not_reordered(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        resin = await ok(await c.post("/api/v1/products", json={
            "sku": "OLD-RESIN", "name": "Old resin", "unit": "KG", "product_type": "raw_material", "min_stock": "10",
            "reorder_qty": "40"}), 201)
        assert [x["quantity"] for x in (await ok(await c.post("/api/v1/mrp/run", json={}), 201))["proposals"]] == [
            "50.000"]  # 0 available < 10 -> 10 + 40
        await ok(await c.patch(f"/api/v1/products/{resin['id']}", json={"is_active": False}))
        run = await ok(await c.post("/api/v1/mrp/run", json={}), 201)
        assert (run["total"], run["superseded_count"]) == (0, 1)
