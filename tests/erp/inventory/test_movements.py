"""Stock movements: each posts its journal in the same transaction; moving average; clear 4xx;
reservations; low stock; valuation equals the inventory accounts' ledger; history."""

from decimal import Decimal as D

SM = "/api/v1/stock-movements"


async def _ledger(c, code, date_to="2026-12-31"):
    tb = (await c.get("/api/v1/reports/trial-balance", params={"date_to": date_to})).json()
    return {r["code"]: D(r["balance"]) for r in tb["rows"]}.get(code, D(0))


async def test_movements_post_journals_and_keep_a_moving_average(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        r = await c.post("/api/v1/products", json={
            "sku": "PP-GRN-NAT", "name": "PP granules natural", "unit": "KG", "product_type": "raw_material",
            "sales_unit": "ZAK", "sales_unit_factor": "25", "attributes": {"material": "PP", "mfi": 12},
            "min_stock": "1000"})
        assert r.status_code == 201, r.text
        product = r.json()
        assert product["variants"][0]["sku"] == "PP-GRN-NAT" and product["variants"][0]["is_default"]
        assert product["attributes"] == {"material": "PP", "mfi": 12} and product["sales_unit"] == "ZAK"

        def mv(kind, qty, **kw):
            return {"kind": kind, "sku": "PP-GRN-NAT", "quantity": str(qty), **kw}

        r = await c.post(SM, json=mv("IN", 1000, to_location="RM-WH", unit_cost="21000", reason="purchase",
                                     reference="PO-001", posting_date="2026-05-04"))
        assert r.status_code == 201, r.text
        gr = r.json()
        assert gr["number"] == "GR/2026/00001" and gr["value"] == "21000000.00" and gr["journal_entry_id"]
        entry = (await c.get(f"/api/v1/journal-entries/{gr['journal_entry_id']}")).json()
        assert entry["number"] == "GR/2026/00001" and entry["source"] == "inventory"
        assert {(l["account_code"], l["debit"], l["credit"]) for l in entry["lines"]} == {
            ("1141", "21000000.00", "0.00"), ("2120", "0.00", "21000000.00")}

        await c.post(SM, json=mv("IN", 500, to_location="RM-WH", unit_cost="22000", posting_date="2026-05-06"))
        variant = (await c.get(f"/api/v1/variants/{product['variants'][0]['id']}")).json()
        # (21,000,000 + 11,000,000) / 1,500
        assert D(variant["avg_cost"]) == D("21333.3333") and D(variant["qty_total"]) == 1500

        r = await c.post(SM, json=mv("TRANSFER", 600, from_location="RM-WH", to_location="MIXING",
                                     posting_date="2026-05-07"))
        assert r.status_code == 201 and r.json()["journal_entry_id"] is None and r.json()["number"] == "TRF/2026/00001"
        r = await c.post(SM, json=mv("OUT", 300, from_location="MIXING", reason="consumption", posting_date="2026-05-08"))
        assert r.json()["value"] == "-6400000.00"  # 300 x 21,333.33...
        r = await c.post(SM, json=mv("ADJUSTMENT", 2, from_location="RM-WH", reference="Stock opname",
                                     posting_date="2026-05-09"))
        assert r.json()["number"] == "ADJ/2026/00001" and r.json()["value"] == "-42666.67"

        # Clear 4xx, and nothing written by a refused movement.
        r = await c.post(SM, json=mv("OUT", 301, from_location="MIXING", posting_date="2026-05-10"))
        assert r.status_code == 409 and "available 300" in r.json()["detail"]
        assert (await c.post(SM, json=mv("OUT", -5, from_location="MIXING"))).status_code == 422
        assert (await c.post(SM, json=mv("OUT", 5, from_location="NOWHERE"))).status_code == 422
        assert (await c.post(SM, json=mv("OUT", 5, to_location="MIXING"))).status_code == 422
        assert (await c.post(SM, json={"kind": "IN", "sku": "NOPE", "quantity": "1", "to_location": "RM-WH",
                                       "unit_cost": "1"})).status_code == 422
        r = await c.post("/api/v1/products", json={"sku": "X-1", "name": "x", "unit": "FURLONG"})
        assert r.status_code == 422 and "unknown unit 'FURLONG'" in r.json()["detail"]
        r = await c.post(f"/api/v1/products/{product['id']}/variants", json={"sku": "PP-GRN-NAT", "name": "dup"})
        assert r.status_code == 409 and "PP-GRN-NAT" in r.json()["detail"]

        # Stock levels, valuation and ledger agree.
        levels = (await c.get("/api/v1/stock", params={"variant_id": variant["id"], "sort": "location"})).json()
        assert [(l["location_code"], D(l["on_hand"])) for l in levels["items"]] == [("MIXING", 300), ("RM-WH", 898)]
        val = (await c.get("/api/v1/stock/valuation", params={"as_of": "2026-05-31"})).json()
        assert D(val["by_account"]["1141"]) == D("32000000") - D("6400000") - D("42666.67")
        assert D(val["by_account"]["1141"]) == await _ledger(c, "1141")
        assert await _ledger(c, "5400") == D("42666.67") and await _ledger(c, "5200") == D("6400000")
        early = (await c.get("/api/v1/stock/valuation", params={"as_of": "2026-05-05"})).json()
        assert D(early["total_value"]) == D(21_000_000) == await _ledger(c, "1141", "2026-05-05")

        hist = (await c.get(f"{SM}/history/{variant['id']}")).json()
        assert [D(l["balance"]) for l in hist["lines"]] == [1000, 1500, 1500, 1200, 1198]
        at_rm = (await c.get(f"{SM}/history/{variant['id']}", params={"location_id": levels["items"][1]["location_id"]})).json()
        assert [D(l["balance"]) for l in at_rm["lines"]] == [1000, 1500, 900, 898]

        listed = (await c.get(SM, params={"kind": "IN", "sort": "number"})).json()
        assert [m["number"] for m in listed["items"]] == ["GR/2026/00001", "GR/2026/00002"]

        # Reservations: available = on hand - reserved; an OUT cannot take reserved stock.
        r = await c.post("/api/v1/stock/reservations", json={"sku": "PP-GRN-NAT", "location": "MIXING", "quantity": "250"})
        assert r.status_code == 200 and D(r.json()["available"]) == 50
        r = await c.post(SM, json=mv("OUT", 60, from_location="MIXING", posting_date="2026-05-11"))
        assert r.status_code == 409 and "available 50" in r.json()["detail"]
        r = await c.post("/api/v1/stock/reservations", json={"sku": "PP-GRN-NAT", "location": "MIXING", "quantity": "51"})
        assert r.status_code == 409
        r = await c.post("/api/v1/stock/reservations/release",
                         json={"sku": "PP-GRN-NAT", "location": "MIXING", "quantity": "250"})
        assert D(r.json()["reserved"]) == 0

        # Low stock: 1,198 on hand, minimum 1,000 -> not low; raise the minimum -> low.
        assert (await c.get("/api/v1/stock/low")).json() == []
        await c.patch(f"/api/v1/products/{product['id']}", json={"min_stock": "2000"})
        low = (await c.get("/api/v1/stock/low")).json()
        assert [(x["sku"], D(x["shortfall"])) for x in low] == [("PP-GRN-NAT", 802)]

        # A product with stock history cannot be deleted or change type.
        assert (await c.delete(f"/api/v1/products/{product['id']}")).status_code == 409
        assert (await c.patch(f"/api/v1/products/{product['id']}", json={"product_type": "scrap"})).status_code == 409

        # The sales unit converts: 2 ZAK of 25 KG = 50 KG, at a cost given per ZAK.
        r = await c.post(SM, json=mv("IN", 2, unit="zak", to_location="RM-WH", unit_cost="550000",
                                     posting_date="2026-05-09"))
        assert r.status_code == 201 and r.json()["quantity"] == "50.000" and r.json()["value"] == "1100000.00"
        assert r.json()["unit_cost"] == "22000.0000"
        r = await c.post(SM, json=mv("OUT", 50, unit="KG", from_location="RM-WH", reason="sale",
                                     posting_date="2026-05-09"))
        assert r.status_code == 201
        r = await c.post(SM, json=mv("OUT", 1, unit="BAL", from_location="RM-WH"))
        assert r.status_code == 422 and "unknown unit 'BAL' for PP-GRN-NAT (use KG or ZAK)" in r.json()["detail"]


async def test_issuing_everything_leaves_no_value_and_a_locked_period_refuses_movements(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        await c.post("/api/v1/products", json={"sku": "WB-50", "name": "Woven bag 50 kg", "unit": "PCS",
                                               "buy_price": "2100"})
        for cost in ("2100", "2150", "2200"):  # no unit_cost: the first takes the buy price, then the average
            r = await c.post(SM, json={"kind": "IN", "sku": "WB-50", "quantity": "3", "to_location": "FG-WH",
                                       "unit_cost": cost, "posting_date": "2026-06-01"})
            assert r.status_code == 201
        r = await c.post(SM, json={"kind": "OUT", "sku": "WB-50", "quantity": "1", "from_location": "FG-WH",
                                   "reason": "scrap", "posting_date": "2026-06-02"})
        assert r.json()["value"] == "-2150.00" and await _ledger(c, "5300") == D(2150)
        r = await c.post(SM, json={"kind": "OUT", "sku": "WB-50", "quantity": "8", "from_location": "FG-WH",
                                   "reason": "sale", "posting_date": "2026-06-03"})
        assert r.json()["value"] == "-17200.00"
        assert await _ledger(c, "1143") == 0
        v = (await c.get("/api/v1/products", params={"q": "WB-50"})).json()["items"][0]["variants"][0]
        assert D(v["stock_value"]) == 0 and D(v["qty_total"]) == 0

        assert (await c.post("/api/v1/fiscal-periods/2026/6/lock")).status_code == 200
        r = await c.post(SM, json={"kind": "IN", "sku": "WB-50", "quantity": "1", "to_location": "FG-WH",
                                   "unit_cost": "1", "posting_date": "2026-06-30"})
        assert r.status_code == 409 and "2026-06 is locked" in r.json()["detail"]
        assert (await c.get(SM, params={"date_from": "2026-06-30"})).json()["total"] == 0
