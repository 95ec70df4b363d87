"""Products list: pagination totals, search (wildcards matched literally), validation."""


async def test_pagination_and_search(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        for i in range(7):
            r = await c.post("/api/v1/products", json={"sku": f"RAF-{i:02d}", "name": f"Raffia {i}"})
            assert r.status_code == 201
        await c.post("/api/v1/products", json={"sku": "FLM-100", "name": "Film 100% LDPE"})

        page = (await c.get("/api/v1/products", params={"limit": 3, "offset": 3})).json()
        assert page["total"] == 8 and [p["sku"] for p in page["items"]] == ["RAF-02", "RAF-03", "RAF-04"]
        past = (await c.get("/api/v1/products", params={"limit": 3, "offset": 50})).json()
        assert past == {"items": [], "total": 8, "limit": 3, "offset": 50}

        assert (await c.get("/api/v1/products", params={"q": "raf"})).json()["total"] == 7
        # "%" and "_" are matched literally, not as wildcards.
        assert [p["sku"] for p in (await c.get("/api/v1/products", params={"q": "100%"})).json()["items"]] == ["FLM-100"]
        assert (await c.get("/api/v1/products", params={"q": "_"})).json()["total"] == 0

        assert (await c.get("/api/v1/products", params={"limit": 0})).status_code == 422
        assert (await c.get("/api/v1/products", params={"limit": 501})).status_code == 422
        assert (await c.get("/api/v1/products", params={"offset": -1})).status_code == 422


async def test_update_and_delete(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        pid = (await c.post("/api/v1/products", json={"sku": "WB-1", "name": "Woven bag"})).json()["id"]
        r = await c.patch(f"/api/v1/products/{pid}", json={"name": "Woven bag 50kg", "unit": "pcs", "sell_price": "2350"})
        assert r.status_code == 200
        assert r.json()["name"] == "Woven bag 50kg" and r.json()["unit"] == "PCS" and r.json()["sell_price"] == "2350.00"
        assert (await c.patch(f"/api/v1/products/{pid}", json={"sku": "X"})).status_code == 422  # SKU is not editable
        assert (await c.delete(f"/api/v1/products/{pid}")).status_code == 204
        assert (await c.get(f"/api/v1/products/{pid}")).status_code == 404
