"""Supplier lots from purchase receipts, opening lots, the lot list's filters, bad input, and isolation: pt-xyz
cannot read, trace or inspect pt-abc's lots."""

from __future__ import annotations

import pytest

from polyflow.erp.accounting.service import today
from tests.erp.production.lots.helpers import product, receive_with_lots
from tests.fixtures.auth import tenant_sql as run_tenant_sql

NO_ID = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def tenant_sql(settings):
    """sql(sub, statement) -> rows, in the tenant's own database as its role."""
    return lambda sub, statement: run_tenant_sql(settings, statement, sub=sub)


async def test_a_receipt_line_with_a_lot_number_makes_a_supplier_lot(make_tenant, live, tenant_sql):
    await make_tenant("pt-abc")
    year = today().year
    async with live.tenant_client("pt-abc") as c:
        pp = await product(c, "PP-RAF", "raw_material")
        mb = await product(c, "MB-WHITE", "raw_material")
        gr = await receive_with_lots(c, [(pp["id"], "1000", "20000", " K-2611-07 "), (mb["id"], "25", "60000", None),
                                         ], "S1")
        assert [ln["lot_number"] for ln in gr["lines"]] == ["K-2611-07", None]
        r = await c.get("/api/v1/lots")
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        assert len(items) == 1
        lot = items[0]
        assert (lot["number"], lot["kind"], lot["status"], lot["sku"], lot["supplier_lot_no"]) == (
            f"LT-{year}-000001", "supplier", "available", "PP-RAF", "K-2611-07")
        assert (lot["quantity"], lot["remaining"], lot["location_code"], lot["partner_id"]) == (
            "1000.000", "1000.000", "RM-WH", gr["_supplier"]["id"])
        assert (lot["goods_receipt_line_id"], lot["produced_on"]) == (gr["lines"][0]["id"], gr["receipt_date"])
        # A second receipt of the same supplier lot number is a new lot (the supplier's number is not unique).
        gr2 = await receive_with_lots(c, [(pp["id"], "200", "20000", "K-2611-07")], "S2")
        r = await c.get("/api/v1/lots", params={"supplier_lot_no": "K-2611-07"})
        assert [x["number"] for x in r.json()["items"]] == [f"LT-{year}-000002", f"LT-{year}-000001"]
        assert r.json()["items"][0]["goods_receipt_line_id"] == gr2["lines"][0]["id"]
        # A refused receipt (over the order) leaves no lot and takes no lot number.
        order = gr2["order_id"]
        line = (await c.get(f"/api/v1/purchase-orders/{order}")).json()["lines"][0]["id"]
        r = await c.post("/api/v1/goods-receipts", json={"order_id": order, "location": "RM-WH", "lines": [
            {"order_line_id": line, "quantity": "999", "lot_number": "K-X"}]})
        assert r.status_code == 409, r.text
        assert tenant_sql("pt-abc", "SELECT count(*) FROM lots")[0][0] == 2
        r = await c.post("/api/v1/lots", json={"sku": "MB-WHITE", "location": "RM-WH", "quantity": "5"})
        assert r.status_code == 201 and r.json()["number"] == f"LT-{year}-000003", r.text


async def test_opening_lots_and_list_filters(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        pp = await product(c, "PP-RAF", "raw_material")
        bag = await product(c, "BAG-50", "finished_good", unit="BAL")
        r = await c.post("/api/v1/stock-movements", json={"kind": "IN", "reason": "opening", "variant_id": pp["id"],
                                                          "quantity": "300", "to_location": "RM-WH",
                                                          "unit_cost": "20000"})
        assert r.status_code == 201, r.text
        r = await c.post("/api/v1/stock-movements", json={"kind": "IN", "reason": "opening", "variant_id": bag["id"],
                                                          "quantity": "4", "to_location": "FG-WH",
                                                          "unit_cost": "900000"})
        assert r.status_code == 201, r.text
        stock_before = (await c.get("/api/v1/stock")).json()
        r = await c.post("/api/v1/lots", json={"variant_id": pp["id"], "location": "RM-WH", "quantity": "250",
                                               "number": "old-lot-1", "supplier_lot_no": "K-1",
                                               "produced_on": "2026-10-01"})
        assert r.status_code == 201, r.text
        old = r.json()
        assert (old["number"], old["kind"], old["produced_on"], old["location_code"]) == (
            "OLD-LOT-1", "supplier", "2026-10-01", "RM-WH")
        r = await c.post("/api/v1/lots", json={"sku": "BAG-50", "location": "FG-WH", "quantity": "1", "kind": "bale",
                                               "gross_weight": "52.5", "core_weight": "0.5", "pieces": 500,
                                               "produced_on": "2026-11-03"})
        assert r.status_code == 201, r.text
        bale = r.json()
        assert (bale["net_weight"], bale["pieces"], bale["kind"]) == ("52.000", 500, "bale")
        assert (await c.get("/api/v1/stock")).json() == stock_before  # lots record, they do not move stock

        bad = [
            ({"sku": "PP-RAF", "location": "RM-WH", "quantity": "301"}, 409),  # more than the location holds
            ({"sku": "PP-RAF", "location": "FG-WH", "quantity": "1"}, 409),  # none there
            ({"sku": "PP-RAF", "location": "RM-WH", "quantity": "1", "number": "OLD-LOT-1"}, 409),
            ({"sku": "NOPE", "location": "RM-WH", "quantity": "1"}, 422),
            ({"sku": "PP-RAF", "variant_id": pp["id"], "location": "RM-WH", "quantity": "1"}, 422),
            ({"sku": "PP-RAF", "location": "NOWHERE", "quantity": "1"}, 422),
            ({"sku": "PP-RAF", "location": "RM-WH", "quantity": "0"}, 422),
            ({"sku": "PP-RAF", "location": "RM-WH", "quantity": "1e3"}, 422),
            ({"sku": "PP-RAF", "location": "RM-WH", "quantity": "1", "kind": "pallet"}, 422),
            ({"sku": "PP-RAF", "location": "RM-WH", "quantity": "1", "gross_weight": "2", "core_weight": "2"}, 422),
            ({"sku": "PP-RAF", "location": "RM-WH", "quantity": "1", "partner_id": NO_ID}, 422),
            ({"sku": "PP-RAF", "location": "RM-WH", "quantity": "1", "number": "bad number!"}, 422),
            ({"sku": "PP-RAF", "location": "RM-WH", "quantity": "1", "extra": 1}, 422),
        ]
        for body, status in bad:
            r = await c.post("/api/v1/lots", json=body)
            assert r.status_code == status, (body, r.status_code, r.text)
        assert "RM-WH holds 300 of PP-RAF" in (await c.post("/api/v1/lots", json=bad[0][0])).json()["detail"]
        # OLD-LOT-1 already claims 250 of RM-WH's 300 kg: a second lot may claim the other 50, not 51 (two lots
        # each claiming the whole stock would trace 500 kg out of 300).
        r = await c.post("/api/v1/lots", json={"sku": "PP-RAF", "location": "RM-WH", "quantity": "51"})
        assert r.status_code == 409 and "250 of it already in lots" in r.json()["detail"], r.text
        assert (await c.get("/api/v1/lots", params={"sku": "PP-RAF"})).json()["total"] == 1

        async def numbers(**params):
            r = await c.get("/api/v1/lots", params=params)
            assert r.status_code == 200, (params, r.text)
            return sorted(x["number"] for x in r.json()["items"])

        assert await numbers() == sorted([old["number"], bale["number"]])
        assert await numbers(sku="PP-RAF") == ["OLD-LOT-1"]
        assert await numbers(variant_id=bag["id"]) == [bale["number"]]
        assert await numbers(kind="bale") == [bale["number"]]
        assert await numbers(status="quarantine") == []
        assert await numbers(location="FG-WH") == [bale["number"]]
        assert await numbers(supplier_lot_no="K-1") == ["OLD-LOT-1"]
        assert await numbers(produced_from="2026-11-01") == [bale["number"]]
        assert await numbers(produced_to="2026-10-31") == ["OLD-LOT-1"]
        assert await numbers(q="old-lot") == ["OLD-LOT-1"]
        page = (await c.get("/api/v1/lots", params={"limit": 1, "offset": 1})).json()
        assert (page["total"], len(page["items"]), page["limit"], page["offset"]) == (2, 1, 1, 1)
        for params in ({"location": "NOWHERE"}, {"kind": "pallet"}, {"produced_from": "2026-12-01",
                                                                       "produced_to": "2026-11-01"},
                       {"produced_from": "1800-01-01"}, {"variant_id": "x"}, {"limit": 0}):
            r = await c.get("/api/v1/lots", params=params)
            assert r.status_code == 422, (params, r.text)
        for params in ({"direction": "sideways"}, {"max_depth": 0}, {"max_depth": 41}):
            r = await c.get(f"/api/v1/lots/{old['id']}/trace", params=params)
            assert r.status_code == 422, (params, r.text)
        assert (await c.get(f"/api/v1/lots/{NO_ID}")).status_code == 404
        assert (await c.get(f"/api/v1/lots/{NO_ID}/trace")).status_code == 404
        # A lot with no history traces to itself only.
        r = await c.get(f"/api/v1/lots/{old['id']}/trace")
        assert [(n["depth"], n["kind"], n["id"]) for n in r.json()["back"]] == [(0, "lot", old["id"])]
        assert [(n["depth"], n["kind"], n["id"]) for n in r.json()["forward"]] == [(0, "lot", old["id"])]


async def test_another_tenant_cannot_read_trace_or_inspect_the_lots(make_tenant, live, tenant_sql):
    await make_tenant("pt-abc")
    await make_tenant("pt-xyz")
    async with live.tenant_client("pt-abc") as abc, live.tenant_client("pt-xyz") as xyz:
        pp = await product(abc, "ABC-PP", "raw_material")
        gr = await receive_with_lots(abc, [(pp["id"], "100", "20000", "ABC-SECRET-LOT")], "ABC")
        lot = (await abc.get("/api/v1/lots")).json()["items"][0]
        ins = (await abc.post("/api/v1/inspections", json={"lot_id": lot["id"], "result": "pass"})).json()
        before = tenant_sql("pt-abc", "SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM lots t")
        for path in (f"/api/v1/lots/{lot['id']}", f"/api/v1/lots/{lot['id']}/trace",
                     f"/api/v1/inspections/{ins['id']}"):
            r = await xyz.get(path)
            assert r.status_code == 404, (path, r.text)
            assert "ABC" not in r.text
        for result in ("quarantine", "pass", "fail"):
            r = await xyz.post("/api/v1/inspections", json={"lot_id": lot["id"], "result": result})
            assert r.status_code == 404 and "ABC" not in r.text, r.text
        assert (await xyz.get("/api/v1/lots")).json()["total"] == 0
        assert (await xyz.get("/api/v1/lots", params={"supplier_lot_no": "ABC-SECRET-LOT"})).json()["items"] == []
        assert (await xyz.get("/api/v1/inspections")).json()["total"] == 0
        assert tenant_sql("pt-abc", "SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM lots t") == before
        assert tenant_sql("pt-xyz", "SELECT count(*) FROM stock_movements")[0][0] == 0
        assert (await abc.get(f"/api/v1/lots/{lot['id']}")).json()["receipt"]["goods_receipt_number"] == gr["number"]
