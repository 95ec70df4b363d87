"""Locations: seeded per tenant, created, listed (filter, sort, paginate), renamed, deactivated."""


async def test_locations(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        seeded = (await c.get("/api/v1/locations")).json()
        assert [l["code"] for l in seeded["items"]] == ["EXTRUSION", "FG-WH", "MIXING", "RM-WH", "SCRAP-WH"]
        r = await c.post("/api/v1/locations", json={"code": "wh-2", "name": "Gudang 2", "kind": "warehouse"})
        assert r.status_code == 201 and r.json()["code"] == "WH-2"
        r = await c.post("/api/v1/locations", json={"code": "WH-2", "name": "again"})
        assert r.status_code == 409 and "WH-2" in r.json()["detail"]
        assert (await c.post("/api/v1/locations", json={"code": "X", "name": "x", "kind": "moon"})).status_code == 422
        page = (await c.get("/api/v1/locations", params={"kind": "warehouse", "sort": "-code", "limit": 2})).json()
        assert page["total"] == 3 and [l["code"] for l in page["items"]] == ["WH-2", "RM-WH"]
        lid = (await c.get("/api/v1/locations", params={"q": "gudang"})).json()["items"][0]["id"]
        r = await c.patch(f"/api/v1/locations/{lid}", json={"is_active": False})
        assert r.json()["is_active"] is False
        assert (await c.get("/api/v1/locations", params={"active": "true"})).json()["total"] == 5
        await c.post("/api/v1/products", json={"sku": "A-1", "name": "a", "buy_price": "10"})
        r = await c.post("/api/v1/stock-movements", json={"kind": "IN", "sku": "A-1", "quantity": "1", "to_location": "WH-2"})
        assert r.status_code == 422 and "inactive" in r.json()["detail"]
