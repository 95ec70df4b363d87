"""Inspections over real HTTP with hand-computed figures: a quarantined supplier lot leaves the warehouse (an
issue and a reservation from there fail; valuation and GL unchanged: a transfer has no journal), a pass brings
it back, a fail scraps it at the moving average (Dr 5300 / Cr 1141), a fail for regrind keeps the stock in
quarantine; wrong states are 409 and bad input 4xx."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

from polyflow.erp.accounting.service import today
from tests.erp.production.lots.helpers import lot_of_line, product, receive_with_lots


async def _tb(c) -> dict[str, D]:
    r = await c.get("/api/v1/reports/trial-balance", params={"date_to": today().isoformat()})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total_debit"] == body["total_credit"]
    return {row["code"]: D(row["balance"]) for row in body["rows"]}


async def _valuation(c) -> dict:
    r = await c.get("/api/v1/stock/valuation")
    assert r.status_code == 200, r.text
    body = r.json()
    return {"total": body["total_value"], "by_account": body["by_account"],
            "rows": sorted((x["sku"], x["quantity"], x["value"]) for x in body["rows"])}


async def _on_hand(c, variant_id: str) -> dict[str, str]:
    r = await c.get("/api/v1/stock", params={"variant_id": variant_id})
    return {x["location_code"]: x["on_hand"] for x in r.json()["items"] if D(x["on_hand"])}


async def _inspect(c, lot_id, result, status=201, **more):
    r = await c.post("/api/v1/inspections", json={"lot_id": lot_id, "result": result, **more})
    assert r.status_code == status, r.text
    return r.json()


async def test_quarantine_pass_fail_and_regrind(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        pp = await product(c, "PP-RAF", "raw_material")
        hd = await product(c, "HDPE", "raw_material")
        # Receipt 1: PP 1 000 kg x 20 000 = 20 000 000 with the supplier's lot SUP-A; HDPE 500 x 15 500 = 7 750 000
        # without a lot. Receipt 2: PP 500 x 23 000 = 11 500 000 without a lot. PP average: 31 500 000 / 1 500
        # = 21 000 per kg.
        gr = await receive_with_lots(c, [(pp["id"], "1000", "20000", "SUP-A"), (hd["id"], "500", "15500", None)], "S1")
        await receive_with_lots(c, [(pp["id"], "500", "23000", None)], "S2")
        lot = await lot_of_line(c, gr["lines"][0]["id"])
        assert await lot_of_line(c, gr["lines"][1]["id"]) is None
        tb0, val0 = await _tb(c), await _valuation(c)
        assert (tb0["1141"], val0["by_account"]["1141"]) == (D("39250000.00"), "39250000.00")

        # A location KARANTINA of another kind is not taken as the quarantine: 409 until it is one.
        loc = (await c.post("/api/v1/locations", json={"code": "KARANTINA", "name": "Gudang K",
                                                        "kind": "warehouse"})).json()
        r = await c.post("/api/v1/inspections", json={"lot_id": lot["id"], "result": "quarantine"})
        assert r.status_code == 409 and "kind quarantine" in r.json()["detail"], r.text
        assert (await c.patch(f"/api/v1/locations/{loc['id']}", json={"kind": "quarantine"})).status_code == 200

        # Quarantine: 1 000 kg RM-WH -> KARANTINA by a transfer (no journal).
        q = await _inspect(c, lot["id"], "quarantine", inspector="Wati", checks={"mfi": 3.1, "moisture": "high"},
                           note="wet bags")
        assert (q["action"], q["result"], q["inspector"], q["checks"]) == (
            "quarantined", "quarantine", "Wati", {"mfi": 3.1, "moisture": "high"})
        m = (await c.get(f"/api/v1/stock-movements/{q['movement_id']}")).json()
        assert (m["kind"], m["quantity"], m["value"], m["journal_entry_id"]) == ("TRANSFER", "1000.000", "0.00", None)
        got = (await c.get(f"/api/v1/lots/{lot['id']}")).json()
        assert (got["status"], got["location_code"], got["remaining"]) == ("quarantine", "KARANTINA", "1000.000")
        assert await _on_hand(c, pp["id"]) == {"RM-WH": "500.000", "KARANTINA": "1000.000"}
        # Not available any more: only the other 500 kg can leave or be reserved at the warehouse.
        r = await c.post("/api/v1/stock-movements", json={"kind": "OUT", "reason": "consumption",
                                                          "variant_id": pp["id"],
                                                          "quantity": "600", "from_location": "RM-WH"})
        assert r.status_code == 409 and "insufficient stock" in r.json()["detail"], r.text
        r = await c.post("/api/v1/stock/reservations", json={"variant_id": pp["id"], "location": "RM-WH",
                                                             "quantity": "600"})
        assert r.status_code == 409, r.text
        assert await _valuation(c) == val0 and await _tb(c) == tb0
        r = await c.post("/api/v1/inspections", json={"lot_id": lot["id"], "result": "quarantine"})
        assert r.status_code == 409 and "already in quarantine" in r.json()["detail"]

        # Pass: back to RM-WH, available again; the reservation that failed now holds.
        p = await _inspect(c, lot["id"], "pass", inspector="Wati")
        assert p["action"] == "released"
        got = (await c.get(f"/api/v1/lots/{lot['id']}")).json()
        assert (got["status"], got["location_code"]) == ("available", "RM-WH")
        assert "quarantined_from" not in got["attributes"]
        assert await _on_hand(c, pp["id"]) == {"RM-WH": "1500.000"}
        r = await c.post("/api/v1/stock/reservations", json={"variant_id": pp["id"], "location": "RM-WH",
                                                             "quantity": "600"})
        assert r.status_code == 200, r.text
        r = await c.post("/api/v1/stock/reservations/release", json={"variant_id": pp["id"], "location": "RM-WH",
                                                                     "quantity": "600"})
        assert r.status_code == 200, r.text
        assert await _valuation(c) == val0 and await _tb(c) == tb0

        # Fail: the lot's 1 000 kg go out as scrap at the average 21 000 = 21 000 000 (Dr 5300 / Cr 1141).
        f = await _inspect(c, lot["id"], "fail", note="contaminated")
        assert f["action"] == "scrapped"
        m = (await c.get(f"/api/v1/stock-movements/{f['movement_id']}")).json()
        assert (m["kind"], m["reason"], m["quantity"], m["unit_cost"], m["value"]) == (
            "OUT", "scrap", "1000.000", "21000.0000", "-21000000.00")
        tb1 = await _tb(c)
        assert tb1["5300"] - tb0.get("5300", D(0)) == D("21000000.00")
        assert tb1["1141"] == tb0["1141"] - D("21000000.00") == D("18250000.00")
        val1 = await _valuation(c)
        # PP left: 500 kg worth 10 500 000; HDPE 7 750 000 untouched.
        assert ("PP-RAF", "500.000", "10500000.00") in val1["rows"] and val1["by_account"]["1141"] == "18250000.00"
        got = (await c.get(f"/api/v1/lots/{lot['id']}")).json()
        assert (got["status"], got["remaining"]) == ("rejected", "0.000")
        assert [(i["result"], i["action"]) for i in got["inspections"]] == [
            ("quarantine", "quarantined"), ("pass", "released"), ("fail", "scrapped")]
        r = await c.post("/api/v1/inspections", json={"lot_id": lot["id"], "result": "pass"})
        assert r.status_code == 409 and "is rejected" in r.json()["detail"]

        # Fail for regrind: an opening HDPE lot of 200 kg goes into quarantine and stays there, rejected.
        hd_lot = (await c.post("/api/v1/lots", json={"sku": "HDPE", "location": "RM-WH", "quantity": "200",
                                                      "supplier_lot_no": "OLD-7"})).json()
        assert hd_lot["number"].startswith(f"LT-{today().year}-") and hd_lot["attributes"] == {"opening": True}
        assert await _tb(c) == tb1  # an opening lot moves no stock
        g = await _inspect(c, hd_lot["id"], "fail", to_regrind=True)
        assert g["action"] == "quarantined_for_regrind"
        got = (await c.get(f"/api/v1/lots/{hd_lot['id']}")).json()
        assert (got["status"], got["remaining"], got["location_code"]) == ("rejected", "200.000", "KARANTINA")
        assert got["attributes"]["to_regrind"] is True
        assert await _on_hand(c, hd["id"]) == {"RM-WH": "300.000", "KARANTINA": "200.000"}
        assert await _tb(c) == tb1

        # Only a granulating order may take from quarantine, and it may grind the rejected lot: 200 kg of HDPE
        # at 15 500 = 3 100 000 into its WIP (Dr 1142 / Cr 1141), 190 kg of regrind out (the order has no BOM,
        # so the regrind carries no material cost and all 3 100 000 is variance at close); the lot is consumed.
        await product(c, "RG-HD", "scrap")
        r = await c.post("/api/v1/production-orders", json={"sku": "RG-HD", "quantity": "190", "stage": "mixing",
                                                           "source_location": "KARANTINA"})
        assert r.status_code == 422 and "only a granulating order" in r.json()["detail"], r.text
        r = await c.post("/api/v1/production-orders", json={"sku": "RG-HD", "quantity": "190",
                                                           "stage": "granulating", "source_location": "KARANTINA",
                                                           "output_location": "RM-WH"})
        assert r.status_code == 201, r.text
        grind = r.json()
        assert (await c.post(f"/api/v1/production-orders/{grind['id']}/release")).status_code == 200
        r = await c.post(f"/api/v1/production-orders/{grind['id']}/issue", json={"lines": [
            {"sku": "HDPE", "quantity": "200", "lots": [{"lot_id": hd_lot["id"], "quantity": "200"}]}]})
        assert r.status_code == 200, r.text
        r = await c.post(f"/api/v1/production-orders/{grind['id']}/output", json={"quantity": "190"})
        assert r.status_code == 201, r.text
        r = await c.post(f"/api/v1/production-orders/{grind['id']}/close")
        assert r.status_code == 200, r.text
        got = (await c.get(f"/api/v1/lots/{hd_lot['id']}")).json()
        assert (got["status"], got["remaining"]) == ("consumed", "0.000")
        assert await _on_hand(c, hd["id"]) == {"RM-WH": "300.000"}
        tb2 = await _tb(c)
        assert tb2["1141"] - tb1["1141"] == D(-3_100_000)
        assert tb2.get("5610", D(0)) + tb2.get("5620", D(0)) == D(3_100_000)
        assert (await c.get("/api/v1/production-wip")).json()["wip"] in ("0", "0.00")

        # Lists: by lot and by result.
        r = await c.get("/api/v1/inspections", params={"result": "fail"})
        assert r.json()["total"] == 2
        r = await c.get("/api/v1/inspections", params={"lot_id": lot["id"]})
        assert r.json()["total"] == 3
        one = (await c.get(f"/api/v1/inspections/{q['id']}")).json()
        assert (one["lot_number"], one["note"], one["action"]) == (lot["number"], "wet bags", "quarantined")
        r = await c.get("/api/v1/lots", params={"status": "consumed"})
        assert [x["id"] for x in r.json()["items"]] == [hd_lot["id"]]
        # The ledgers agree at the end: stock accounts == valuation (no order is open, so no WIP).
        tb, val = await _tb(c), await _valuation(c)
        assert {code: tb.get(code, D(0)) for code in ("1141", "1142", "1143", "1144")} == {
            code: D(val["by_account"].get(code, "0")) for code in ("1141", "1142", "1143", "1144")}


async def test_inspection_bad_input_and_wrong_states(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        pp = await product(c, "PP-RAF", "raw_material")
        gr = await receive_with_lots(c, [(pp["id"], "100", "20000", "SUP-A")], "S1")
        lot = await lot_of_line(c, gr["lines"][0]["id"])
        tb0 = await _tb(c)
        bad = [
            ({"lot_id": lot["id"], "result": "maybe"}, 422),
            ({"lot_id": lot["id"], "result": "pass", "to_regrind": True}, 422),
            ({"lot_id": lot["id"], "result": "pass", "colour": "red"}, 422),
            ({"lot_id": "not-a-uuid", "result": "pass"}, 422),
            ({"result": "pass"}, 422),
            ({"lot_id": lot["id"], "result": "pass", "checks": {"x": "y" * 20000}}, 422),
            ({"lot_id": lot["id"], "result": "quarantine", "date": "2199-12-31"}, 422),  # stock in the future
            ({"lot_id": lot["id"], "result": "quarantine", "inspected_on": "1800-01-01"}, 422),
            # before the lot came in (received today)
            ({"lot_id": lot["id"], "result": "pass", "date": (today() - timedelta(days=1)).isoformat()}, 422),
            ({"lot_id": "00000000-0000-4000-8000-000000000000", "result": "pass"}, 404),
        ]
        for body, status in bad:
            r = await c.post("/api/v1/inspections", json=body)
            assert r.status_code == status, (body, r.status_code, r.text)
            assert r.status_code < 500
        assert (await c.get("/api/v1/inspections")).json()["total"] == 0
        assert (await c.get(f"/api/v1/lots/{lot['id']}")).json()["status"] == "available"
        assert await _tb(c) == tb0
        # The lot's stock is no longer where the lot says (issued without naming it): a clear 409, nothing moves.
        r = await c.post("/api/v1/stock-movements", json={"kind": "OUT", "reason": "consumption",
                                                          "variant_id": pp["id"],
                                                          "quantity": "30", "from_location": "RM-WH"})
        assert r.status_code == 201, r.text
        r = await c.post("/api/v1/inspections", json={"lot_id": lot["id"], "result": "quarantine"})
        assert r.status_code == 409 and f"lot {lot['number']}: insufficient stock" in r.json()["detail"], r.text
        assert (await c.get(f"/api/v1/lots/{lot['id']}")).json()["status"] == "available"
        assert (await c.get("/api/v1/inspections")).json()["total"] == 0
        for path in ("/api/v1/inspections/00000000-0000-4000-8000-000000000000", "/api/v1/inspections/nope"):
            assert (await c.get(path)).status_code in (404, 422)
        r = await c.get("/api/v1/inspections", params={"date_from": "2026-12-01", "date_to": "2026-11-01"})
        assert r.status_code == 422
