"""Products for the floor (issue 12): service products hold no stock, per-product unit conversions that
stock movements use (BAL, KARTON, ZAK), the costing fields and the validated spec attributes."""

from decimal import Decimal as D

SM = "/api/v1/stock-movements"
P = "/api/v1/products"


async def _new(c, **body):
    r = await c.post(P, json=body)
    assert r.status_code == 201, r.text
    return r.json()


async def test_a_service_product_has_no_stock(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        # Toll printing (maklon): sold as a service, never stocked.
        for extra in ({"min_stock": "10"}, {"reorder_qty": "5"}):
            r = await c.post(P, json={"sku": "JASA-X", "name": "x", "product_type": "service", **extra})
            assert r.status_code == 422 and "service product has no stock" in r.json()["detail"], r.text
        svc = await _new(c, sku="JASA-CETAK", name="Jasa cetak karung", unit="PCS", product_type="service",
                         sell_price="400")
        assert svc["product_type"] == "service" and D(svc["min_stock"]) == 0
        for body in ({"kind": "IN", "sku": "JASA-CETAK", "quantity": "10", "to_location": "FG-WH",
                      "unit_cost": "300", "reason": "opening"},
                     {"kind": "IN", "sku": "JASA-CETAK", "quantity": "10", "to_location": "FG-WH", "unit_cost": "1"},
                     {"kind": "OUT", "sku": "JASA-CETAK", "quantity": "1", "from_location": "FG-WH"}):
            r = await c.post(SM, json=body)
            assert r.status_code == 422 and "JASA-CETAK is a service: it has no stock" in r.json()["detail"], r.text
        assert (await c.get(SM)).json()["total"] == 0
        assert (await c.get("/api/v1/journal-entries")).json()["total"] == 0
        r = await c.patch(f"{P}/{svc['id']}", json={"min_stock": "3"})
        assert r.status_code == 422 and "service" in r.json()["detail"]
        r = await c.patch(f"/api/v1/variants/{svc['variants'][0]['id']}", json={"min_stock": "3"})
        assert r.status_code == 422 and "service" in r.json()["detail"]
        # A stocked product with a reorder point cannot become a service without dropping it.
        bag = await _new(c, sku="WB-1", name="bag", unit="PCS", min_stock="100")
        r = await c.patch(f"{P}/{bag['id']}", json={"product_type": "service"})
        assert r.status_code == 422 and "service product has no stock" in r.json()["detail"]
        r = await c.patch(f"{P}/{bag['id']}", json={"product_type": "service", "min_stock": "0"})
        assert r.status_code == 200 and r.json()["product_type"] == "service"
        # Auxiliaries (oil, thread, ink) are stocked like raw material.
        aux = await _new(c, sku="OLI-1", name="Mesin oil", unit="L", product_type="auxiliary", min_stock="20")
        assert aux["product_type"] == "auxiliary"


async def test_conversions_are_used_by_stock_movements(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        bag = await _new(c, sku="WB-50", name="Woven bag 50 kg", unit="PCS", product_type="finished_good",
                         conversions=[{"unit": "bal", "factor": "500"}, {"unit": "KARTON", "factor": "100"}])
        assert bag["conversions"] == [{"unit": "BAL", "factor": "500.000000"},
                                      {"unit": "KARTON", "factor": "100.000000"}]
        resin = await _new(c, sku="PP-RAF", name="PP raffia", unit="KG", product_type="raw_material",
                           sales_unit="TON", sales_unit_factor="1000", conversions=[{"unit": "ZAK", "factor": "25"}])
        listed = (await c.get(P, params={"q": "WB-50"})).json()["items"][0]
        assert listed["conversions"] == bag["conversions"]

        # 2 BAL at 1 000 000 per BAL = 1 000 PCS at 2 000 = 2 000 000.
        r = await c.post(SM, json={"kind": "IN", "sku": "WB-50", "quantity": "2", "unit": "BAL",
                                   "unit_cost": "1000000", "to_location": "FG-WH", "posting_date": "2026-11-02"})
        assert r.status_code == 201, r.text
        assert (D(r.json()["quantity"]), D(r.json()["unit_cost"]), D(r.json()["value"])) == (1000, 2000, 2_000_000)
        # 3 KARTON = 300 PCS leave at the average 2 000 = 600 000.
        r = await c.post(SM, json={"kind": "OUT", "sku": "WB-50", "quantity": "3", "unit": "karton",
                                   "from_location": "FG-WH", "posting_date": "2026-11-03"})
        assert r.status_code == 201 and (D(r.json()["quantity"]), D(r.json()["value"])) == (300, -600_000), r.text
        # 4 ZAK of resin = 100 KG at 20 000 per KG (500 000 per ZAK); the sales unit still counts: 0.1 TON = 100 KG.
        r = await c.post(SM, json={"kind": "IN", "sku": "PP-RAF", "quantity": "4", "unit": "ZAK",
                                   "unit_cost": "500000", "to_location": "RM-WH", "posting_date": "2026-11-02"})
        assert r.status_code == 201 and (D(r.json()["quantity"]), D(r.json()["unit_cost"])) == (100, 20000), r.text
        r = await c.post(SM, json={"kind": "OUT", "sku": "PP-RAF", "quantity": "0.1", "unit": "TON",
                                   "from_location": "RM-WH", "reason": "consumption", "posting_date": "2026-11-03"})
        assert r.status_code == 201 and D(r.json()["quantity"]) == 100, r.text
        # A roll of varying weight has no fixed factor: ROLL is not a unit of the bag.
        r = await c.post(SM, json={"kind": "OUT", "sku": "WB-50", "quantity": "1", "unit": "ROLL",
                                   "from_location": "FG-WH"})
        assert r.status_code == 422 and "unknown unit 'ROLL' for WB-50 (use PCS, BAL or KARTON)" in r.json()["detail"]

        # Replace on patch: BAL becomes 400, KARTON goes; stock already moved keeps its quantities.
        r = await c.patch(f"{P}/{bag['id']}", json={"conversions": [{"unit": "BAL", "factor": "400"}]})
        assert r.status_code == 200 and r.json()["conversions"] == [{"unit": "BAL", "factor": "400.000000"}]
        assert (await c.get(f"{P}/{bag['id']}")).json()["conversions"] == [{"unit": "BAL", "factor": "400.000000"}]
        r = await c.post(SM, json={"kind": "OUT", "sku": "WB-50", "quantity": "1", "unit": "BAL",
                                   "from_location": "FG-WH", "posting_date": "2026-11-04"})
        assert r.status_code == 201 and D(r.json()["quantity"]) == 400
        r = await c.post(SM, json={"kind": "OUT", "sku": "WB-50", "quantity": "1", "unit": "KARTON",
                                   "from_location": "FG-WH"})
        assert r.status_code == 422 and "unknown unit 'KARTON'" in r.json()["detail"]
        # Leaving conversions out of a patch keeps them.
        r = await c.patch(f"{P}/{bag['id']}", json={"name": "Woven bag 50 kg white"})
        assert r.json()["conversions"] == [{"unit": "BAL", "factor": "400.000000"}]

        # Refused: the primary or sales unit, a unit twice, an unknown unit, a factor of zero.
        for conversions, message in (
                ([{"unit": "KG", "factor": "1"}], "KG is the product's primary unit"),
                ([{"unit": "TON", "factor": "1000"}], "TON is the product's sales unit"),
                ([{"unit": "ZAK", "factor": "25"}, {"unit": "zak", "factor": "20"}], "ZAK is given twice"),
                ([{"unit": "FURLONG", "factor": "2"}], "unknown unit 'FURLONG'"),
                ([{"unit": "ZAK", "factor": "0"}], "greater than 0")):
            r = await c.patch(f"{P}/{resin['id']}", json={"conversions": conversions})
            assert r.status_code == 422 and message in r.text, (conversions, r.text)
        r = await c.patch(f"{P}/{resin['id']}", json={"sales_unit": "ZAK"})  # ZAK is already a conversion
        assert r.status_code == 422 and "ZAK is the product's sales unit" in r.json()["detail"]
        assert (await c.get(f"{P}/{resin['id']}")).json()["conversions"] == [{"unit": "ZAK", "factor": "25.000000"}]

        # A product without stock goes with its conversions.
        film = await _new(c, sku="FLM-1", name="film", unit="KG", conversions=[{"unit": "ROLL", "factor": "23.5"}])
        assert (await c.delete(f"{P}/{film['id']}")).status_code == 204


async def test_costing_fields(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        plain = await _new(c, sku="WB-1", name="bag", unit="PCS")
        assert (plain["costing_method"], plain["standard_cost"], D(plain["reorder_qty"])) == ("actual", None, 0)
        r = await c.post(P, json={"sku": "WB-2", "name": "bag", "costing_method": "standard"})
        assert r.status_code == 422 and "standard_cost is required" in r.text
        for bad in ({"costing_method": "fifo"}, {"standard_cost": "-1"}, {"standard_cost": "1.00001"},
                    {"reorder_qty": "-5"}, {"reorder_qty": "1.0001"}):
            assert (await c.post(P, json={"sku": "WB-3", "name": "bag", **bad})).status_code == 422, bad
        std = await _new(c, sku="WB-4", name="bag", unit="PCS", costing_method="standard", standard_cost="1850.25",
                         min_stock="5000", reorder_qty="20000")
        assert (std["costing_method"], std["standard_cost"], std["reorder_qty"]) == ("standard", "1850.2500",
                                                                                     "20000.000")
        r = await c.patch(f"{P}/{std['id']}", json={"standard_cost": None})
        assert r.status_code == 422 and "standard_cost is required" in r.json()["detail"]
        r = await c.patch(f"{P}/{plain['id']}", json={"costing_method": "standard"})
        assert r.status_code == 422 and "standard_cost is required" in r.json()["detail"]
        r = await c.patch(f"{P}/{plain['id']}", json={"costing_method": "standard", "standard_cost": "1900"})
        assert r.status_code == 200 and r.json()["standard_cost"] == "1900.0000"
        r = await c.patch(f"{P}/{plain['id']}", json={"costing_method": "actual", "standard_cost": None,
                                                      "reorder_qty": "1000"})
        assert r.status_code == 200 and (r.json()["costing_method"], r.json()["standard_cost"],
                                         r.json()["reorder_qty"]) == ("actual", None, "1000.000")


async def test_spec_attributes_are_validated(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        ok = await _new(c, sku="RAF-1", name="yarn", attributes={
            "denier": 1200, "gsm": 70.5, "width_mm": 550, "mesh": "10x10", "thickness_micron": 30,
            "color": "white", "material": "PP", "grade": 3})
        assert ok["attributes"]["mesh"] == "10x10" and ok["attributes"]["gsm"] == 70.5
        assert (await _new(c, sku="RAF-2", name="yarn", attributes={"mesh": 12}))["attributes"] == {"mesh": 12}
        for key, value in (("denier", 0), ("gsm", -70), ("width_mm", "550"), ("thickness_micron", True),
                           ("denier", None), ("mesh", "fine"), ("mesh", 0), ("color", ""), ("color", 3)):
            r = await c.post(P, json={"sku": "RAF-X", "name": "yarn", "attributes": {key: value}})
            assert r.status_code == 422 and f"attributes.{key} must be" in r.text, (key, value, r.text)
        r = await c.patch(f"{P}/{ok['id']}", json={"attributes": {"gsm": 0}})
        assert r.status_code == 422 and "attributes.gsm must be a positive number" in r.text
        r = await c.post(f"{P}/{ok['id']}/variants", json={"sku": "RAF-1-B", "name": "blue",
                                                           "attributes": {"width_mm": -1}})
        assert r.status_code == 422 and "attributes.width_mm must be a positive number" in r.text
        r = await c.patch(f"/api/v1/variants/{ok['variants'][0]['id']}", json={"attributes": {"denier": "x"}})
        assert r.status_code == 422 and "attributes.denier" in r.text
        assert (await c.get(P, params={"q": "RAF-X"})).json()["total"] == 0


async def test_new_tenants_have_the_floor_accounts_and_units(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        accounts = {a["code"]: (a["name"], a["type"])
                    for a in (await c.get("/api/v1/accounts", params={"limit": 500})).json()["items"]}
        assert {code: accounts.get(code) for code in ("1144", "2170", "4300", "5610", "5620", "5720")} == {
            "1144": ("Persediaan Scrap dan Regrind", "asset"), "2170": ("Hutang Upah Borongan", "liability"),
            "4300": ("Pendapatan Jasa Maklon", "revenue"), "5610": ("Selisih Kuantitas Produksi", "expense"),
            "5620": ("Selisih Harga Produksi", "expense"), "5720": ("Biaya Overhead Pabrik Dibebankan", "expense")}
        for unit in ("KG", "ROLL", "BAL", "PCS", "ZAK", "KARTON", "METER"):
            r = await c.post(P, json={"sku": f"U-{unit}", "name": unit, "unit": unit})
            assert r.status_code == 201, (unit, r.text)
