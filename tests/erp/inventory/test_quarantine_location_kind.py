"""A quarantine location holding stock cannot be re-kinded into an ordinary one: that would make the goods
available (deliverable, reservable) without any inspection. Once emptied by inspection it may change."""

from __future__ import annotations


async def _ok(r, status: int = 200) -> dict:
    assert r.status_code == status, (r.status_code, r.text)
    return r.json()


async def test_a_quarantine_holding_stock_keeps_its_kind(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        q = await _ok(await c.post("/api/v1/locations", json={"code": "KAR-2", "name": "Karantina 2",
                                                               "kind": "quarantine"}), 201)
        await _ok(await c.post("/api/v1/products", json={"sku": "QK-1", "name": "q", "unit": "KG"}), 201)
        # 10 kg put aside into quarantine (a receipt straight into it is allowed: nothing becomes available).
        await _ok(await c.post("/api/v1/stock-movements", json={
            "kind": "IN", "sku": "QK-1", "quantity": "10", "unit_cost": "1000", "to_location": "KAR-2"}), 201)
        r = await c.post("/api/v1/stock-movements", json={"kind": "OUT", "sku": "QK-1", "quantity": "10",
                                                          "from_location": "KAR-2"})
        assert r.status_code == 409 and "in quarantine" in r.text
        # Re-kinding it would have lifted the rule for the 10 kg without an inspection.
        r = await c.patch(f"/api/v1/locations/{q['id']}", json={"kind": "warehouse"})
        assert r.status_code == 409 and "KAR-2" in r.json()["detail"] and "quarantine" in r.json()["detail"], r.text
        assert (await _ok(await c.get(f"/api/v1/locations/{q['id']}")))["kind"] == "quarantine"
        r = await c.post("/api/v1/stock-movements", json={"kind": "OUT", "sku": "QK-1", "quantity": "10",
                                                          "from_location": "KAR-2"})
        assert r.status_code == 409 and "in quarantine" in r.text
        # A rename is still fine; an empty quarantine may become a warehouse.
        assert (await _ok(await c.patch(f"/api/v1/locations/{q['id']}", json={"name": "Karantina B"})))["name"] \
            == "Karantina B"
        await _ok(await c.post("/api/v1/stock-movements", json={
            "kind": "ADJUSTMENT", "sku": "QK-1", "quantity": "10", "from_location": "KAR-2"}), 201)
        assert (await _ok(await c.patch(f"/api/v1/locations/{q['id']}", json={"kind": "warehouse"})))["kind"] \
            == "warehouse"
