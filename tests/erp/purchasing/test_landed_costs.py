"""Landed costs: freight on a receipt is allocated to its lines by value (whole rupiah, largest remainder)
and added to the stock cost by inventory revaluations (value only, Cr 2150). Dated on the receipt's date,
an issue made since is re-costed, so the stock valuation equals the inventory account on every date."""

from decimal import Decimal as D

from tests.erp.purchasing.test_procure_to_pay import _tb, setup_order


async def _valuation(c, on):
    r = await c.get("/api/v1/stock/valuation", params={"as_of": on})
    return {row["sku"]: (D(row["quantity"]), D(row["value"])) for row in r.json()["rows"]}, D(r.json()["by_account"]["1141"])


async def test_landed_cost_allocated_by_value_and_later_issue_recosted(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        _, pp, hd, po = await setup_order(c)
        await c.post(f"/api/v1/purchase-orders/{po['id']}/approve")
        gr = (await c.post("/api/v1/goods-receipts", json={
            "order_id": po["id"], "location": "RM-WH", "receipt_date": "2026-11-05",
            "lines": [{"order_line_id": po["lines"][0]["id"], "quantity": "600"},
                      {"order_line_id": po["lines"][1]["id"], "quantity": "500"}]})).json()
        # PP 600 x 20 000 = 12 000 000; HDPE 500 x 15 500 = 7 750 000.
        r = await c.post("/api/v1/stock-movements", json={"kind": "OUT", "reason": "consumption", "sku": "PP-RAF",
                                                          "quantity": "100", "from_location": "RM-WH",
                                                          "posting_date": "2026-11-07"})
        assert r.status_code == 201 and r.json()["value"] == "-2000000.00"

        bad = [({"cost_date": "2026-11-04"}, 422, "before the receipt"), ({"amount": "10.50"}, 422, "whole rupiah"),
               ({"amount": "1e6"}, 422, "plain notation")]
        for change, status, message in bad:
            r = await c.post("/api/v1/landed-costs", json={"receipt_id": gr["id"], "description": "Freight",
                                                           "amount": "1000000", **change})
            assert r.status_code == status and message in r.text, (change, r.text)

        # Freight 1 000 000 on the receipt's date, by value 12 000 000 : 7 750 000: PP 607 594.94, HDPE
        # 392 405.06 -> floors 607 594 + 392 405 = 999 999; the last rupiah to the larger remainder (PP).
        r = await c.post("/api/v1/landed-costs", json={"receipt_id": gr["id"], "description": "Freight Priok",
                                                       "amount": "1000000"})
        assert r.status_code == 201, r.text
        lc = r.json()
        assert (lc["number"], lc["cost_date"], lc["counter_account"]) == ("LC/2026/00001", "2026-11-05", "2150")
        assert [(l["variant_id"], l["amount"]) for l in lc["lines"]] == [(pp["id"], "607595.00"),
                                                                         (hd["id"], "392405.00")]
        # On 5 Nov the stock carries the freight: 12 607 595 + 8 142 405 = 20 750 000.
        rows, gl = await _valuation(c, "2026-11-05")
        assert rows == {"PP-RAF": (D(600), D("12607595.00")), "HDPE-FLM": (D(500), D("8142405.00"))}
        assert gl == D(20_750_000) and (await _tb(c, "2026-11-05"))["1141"] == D(20_750_000)
        # The issue of 7 Nov is re-costed at the new average: 100 x 12 607 595 / 600 = 2 101 265.83
        # (101 265.83 more to 5200); PP left 12 607 595 - 2 101 265.83 = 10 506 329.17.
        rows, gl = await _valuation(c, "2026-11-07")
        assert rows["PP-RAF"] == (D(500), D("10506329.17"))
        tb = await _tb(c, "2026-11-07")
        assert gl == tb["1141"] == D("18648734.17")
        assert tb["5200"] == D("2101265.83") and tb["2150"] == D(-1_000_000) and tb["2120"] == D(-19_750_000)
        history = (await c.get(f"/api/v1/stock-movements/history/{pp['id']}")).json()["lines"]
        assert [(h["kind"], D(h["quantity_change"]), h["value_change"]) for h in history] == [
            ("IN", 600, "12000000.00"), ("REVALUATION", 0, "607595.00"), ("OUT", -100, "-2101265.83")]

        # No stock left to carry a cost: all HDPE consumed on 8 Nov, then freight dated 9 Nov is a 409 and
        # nothing of it stays (its number is given back).
        await c.post("/api/v1/stock-movements", json={"kind": "OUT", "reason": "consumption", "sku": "HDPE-FLM",
                                                      "quantity": "500", "from_location": "RM-WH",
                                                      "posting_date": "2026-11-08"})
        r = await c.post("/api/v1/landed-costs", json={"receipt_id": gr["id"], "description": "Duty",
                                                       "amount": "100000", "cost_date": "2026-11-09"})
        assert r.status_code == 409 and "no stock of HDPE-FLM on 2026-11-09" in r.json()["detail"]
        assert (await c.get("/api/v1/landed-costs")).json()["total"] == 1
        tb = await _tb(c, "2026-11-09")
        assert tb["2150"] == D(-1_000_000) and tb["1141"] == (await _valuation(c, "2026-11-09"))[1]
