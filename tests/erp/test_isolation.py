"""Everything created on one tenant is invisible to another: by list, and by guessed id with every verb
(404, nothing changes). One test per endpoint family the ERP core added."""

import uuid
from decimal import Decimal as D


async def _two(make_tenant, live):
    await make_tenant("pt-abc")
    await make_tenant("pt-xyz")
    return live.tenant_client("pt-abc"), live.tenant_client("pt-xyz")


async def test_accounts_journals_periods_settings_and_reports_are_isolated(make_tenant, live):
    abc_c, xyz_c = await _two(make_tenant, live)
    async with abc_c as abc, xyz_c as xyz:
        assert (await abc.post("/api/v1/accounts", json={"code": "1199", "name": "ABC only", "type": "asset"})).status_code == 201
        r = await abc.post("/api/v1/journal-entries", json={"entry_date": "2026-03-02", "description": "ABC secret",
                                                            "lines": [{"account": "1199", "debit": "777"},
                                                                      {"account": "3100", "credit": "777"}]})
        eid = r.json()["id"]
        await abc.post("/api/v1/fiscal-periods/2026/1/lock")
        await abc.patch("/api/v1/settings", json={"company_name": "ABC renamed", "ppn_rate": "12"})

        assert (await xyz.get("/api/v1/accounts/1199")).status_code == 404
        assert (await xyz.patch("/api/v1/accounts/1199", json={"name": "hijacked"})).status_code == 404
        assert (await xyz.get("/api/v1/accounts", params={"q": "ABC only"})).json()["total"] == 0
        assert (await xyz.get(f"/api/v1/journal-entries/{eid}")).status_code == 404
        assert (await xyz.get("/api/v1/journal-entries")).json()["total"] == 0
        assert (await xyz.get("/api/v1/fiscal-periods")).json() == []
        assert (await xyz.get("/api/v1/reports/general-ledger/1199")).status_code == 404
        assert (await xyz.get("/api/v1/reports/trial-balance", params={"date_to": "2026-12-31"})).json()["rows"] == []
        settings = (await xyz.get("/api/v1/settings")).json()
        assert settings["company_name"] == "PT-XYZ" and settings["ppn_rate"] == "11.00"
        # XYZ's January is open and its numbering is its own.
        r = await xyz.post("/api/v1/journal-entries", json={"entry_date": "2026-01-02", "description": "x",
                                                            "lines": [{"account": "1101", "debit": "1"},
                                                                      {"account": "3100", "credit": "1"}]})
        assert r.status_code == 201 and r.json()["number"] == "JV/2026/00001"

        assert (await abc.get("/api/v1/accounts/1199")).json()["name"] == "ABC only"
        assert (await abc.get(f"/api/v1/journal-entries/{eid}")).status_code == 200
        assert (await abc.get("/api/v1/journal-entries")).json()["total"] == 1


async def test_locations_variants_stock_and_movements_are_isolated(make_tenant, live):
    abc_c, xyz_c = await _two(make_tenant, live)
    async with abc_c as abc, xyz_c as xyz:
        loc = (await abc.post("/api/v1/locations", json={"code": "GUDANG-2", "name": "ABC gudang 2"})).json()
        product = (await abc.post("/api/v1/products", json={"sku": "PP-1", "name": "PP", "product_type": "raw_material"})).json()
        vid = product["variants"][0]["id"]
        variant = (await abc.post(f"/api/v1/products/{product['id']}/variants", json={"sku": "PP-1-BLUE", "name": "PP blue"})).json()
        mv = (await abc.post("/api/v1/stock-movements", json={"kind": "IN", "variant_id": vid, "quantity": "10",
                                                              "to_location": loc["id"], "unit_cost": "20000"})).json()
        assert mv["number"].startswith("GR/")

        assert (await xyz.get(f"/api/v1/locations/{loc['id']}")).status_code == 404
        assert (await xyz.patch(f"/api/v1/locations/{loc['id']}", json={"name": "hijacked"})).status_code == 404
        assert (await xyz.get("/api/v1/locations", params={"q": "GUDANG-2"})).json()["total"] == 0
        for path in (f"/api/v1/variants/{vid}", f"/api/v1/variants/{variant['id']}",
                     f"/api/v1/stock-movements/{mv['id']}", f"/api/v1/stock-movements/history/{vid}"):
            assert (await xyz.get(path)).status_code == 404, path
        assert (await xyz.patch(f"/api/v1/variants/{vid}", json={"name": "hijacked"})).status_code == 404
        assert (await xyz.post(f"/api/v1/products/{product['id']}/variants",
                               json={"sku": "X-1", "name": "x"})).status_code == 404
        assert (await xyz.get("/api/v1/stock")).json()["total"] == 0
        assert (await xyz.get("/api/v1/stock", params={"variant_id": vid})).json()["total"] == 0
        assert (await xyz.get("/api/v1/stock-movements")).json()["total"] == 0
        assert D((await xyz.get("/api/v1/stock/valuation")).json()["total_value"]) == 0
        # Referring to ABC's variant or location in a request body: unknown on XYZ, nothing moves.
        r = await xyz.post("/api/v1/stock-movements", json={"kind": "OUT", "variant_id": vid, "quantity": "1",
                                                            "from_location": loc["id"]})
        assert r.status_code == 422
        r = await xyz.post("/api/v1/stock/reservations", json={"variant_id": vid, "location": loc["id"], "quantity": "1"})
        assert r.status_code == 422

        level = (await abc.get("/api/v1/stock", params={"variant_id": vid})).json()["items"][0]
        assert D(level["on_hand"]) == 10 and D(level["reserved"]) == 0
        assert (await abc.get(f"/api/v1/locations/{loc['id']}")).json()["name"] == "ABC gudang 2"
        assert (await abc.get(f"/api/v1/variants/{variant['id']}")).json()["name"] == "PP blue"
        assert (await abc.get("/api/v1/stock-movements")).json()["total"] == 1
        assert (await abc.get(f"/api/v1/stock-movements/{uuid.uuid4()}")).status_code == 404
