"""Partner prices: a customer's sale price and a supplier's purchase price of a variant, by effective date
(the entry that started last wins), with the checks a user can trip; every change is in the audit log."""

import uuid
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.partners import service


async def _setup(c):
    product = (await c.post("/api/v1/products", json={"sku": "WB-50", "name": "Woven bag 50kg", "unit": "PCS"})).json()
    customer = (await c.post("/api/v1/partners", json={"code": "C-1", "name": "PT Pembeli", "is_customer": True})).json()
    supplier = (await c.post("/api/v1/partners", json={"code": "S-1", "name": "PT Resin", "is_supplier": True})).json()
    return product["variants"][0]["id"], customer["id"], supplier["id"]


async def test_prices_by_effective_date(make_tenant, live, tenant_engine):
    tenant = await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        vid, cid, sid = await _setup(c)
        for start, price in (("2026-01-01", "2350"), ("2026-07-01", "2400.50"), ("2026-03-01", "2300")):
            r = await c.post(f"/api/v1/partners/{cid}/prices", json={"variant_id": vid, "side": "sale", "price": price,
                                                                     "effective_from": start})
            assert r.status_code == 201, r.text
        first = r.json()
        assert first["sku"] == "WB-50" and first["price"] == "2300.00" and first["effective_to"] is None

        async def in_effect(on: str):
            items = (await c.get(f"/api/v1/partners/{cid}/prices",
                                 params={"variant_id": vid, "side": "sale", "on": on})).json()["items"]
            return items[0]["price"] if items else None

        assert await in_effect("2025-12-31") is None
        assert await in_effect("2026-02-15") == "2350.00"
        assert await in_effect("2026-03-01") == "2300.00"
        assert await in_effect("2027-01-01") == "2400.50"
        listed = (await c.get(f"/api/v1/partners/{cid}/prices")).json()
        assert listed["total"] == 3 and [p["price"] for p in listed["items"]] == ["2400.50", "2300.00", "2350.00"]

        # The documents' resolver gives the same answer, and None where no partner price applies.
        async with AsyncSession(tenant_engine(tenant)) as session:
            got = await service.price_for(session, uuid.UUID(cid), uuid.UUID(vid), "sale", date(2026, 5, 1))
            assert got.price == 2300
            assert await service.price_for(session, uuid.UUID(cid), uuid.UUID(vid), "purchase", date(2026, 5, 1)) is None

        # A bounded price: from March through June only, then nothing until a new entry.
        r = await c.post(f"/api/v1/partners/{sid}/prices", json={"variant_id": vid, "side": "purchase", "price": "1800",
                                                                 "effective_from": "2026-03-01",
                                                                 "effective_to": "2026-06-30"})
        assert r.status_code == 201, r.text
        assert (await c.get(f"/api/v1/partners/{sid}/prices", params={"on": "2026-07-01"})).json()["total"] == 0

        # Mistakes a user can make: 4xx with the reason, nothing written.
        bad = [
            (cid, {"variant_id": vid, "side": "purchase", "price": "1", "effective_from": "2026-01-01"}, 422,
             "a purchase price needs a supplier; C-1 is not one"),
            (cid, {"variant_id": vid, "side": "sale", "price": "9", "effective_from": "2026-01-01"}, 409,
             "C-1 already has a sale price of that variant from 2026-01-01"),
            (cid, {"variant_id": sid, "side": "sale", "price": "9", "effective_from": "2026-02-01"}, 422,
             "unknown variant_id"),
            (cid, {"variant_id": vid, "side": "sale", "price": "-1", "effective_from": "2026-02-01"}, 422, "greater"),
            (cid, {"variant_id": vid, "side": "sale", "price": "1.001", "effective_from": "2026-02-01"}, 422,
             "decimal places"),
            (cid, {"variant_id": vid, "side": "sale", "price": "9", "effective_from": "2026-02-01",
                   "effective_to": "2026-01-01"}, 422, "effective_to is before effective_from"),
        ]
        for partner, body, status, message in bad:
            r = await c.post(f"/api/v1/partners/{partner}/prices", json=body)
            assert r.status_code == status and message in r.text, (body, r.text)
        assert (await c.get(f"/api/v1/partners/{cid}/prices")).json()["total"] == 3

        # A wrong entry is removed; the audit log has who added and removed it.
        r = await c.delete(f"/api/v1/partners/{cid}/prices/{first['id']}")
        assert r.status_code == 204
        assert await in_effect("2026-03-01") == "2350.00"
        assert (await c.delete(f"/api/v1/partners/{cid}/prices/{first['id']}")).status_code == 404
        # The price belongs to its partner: another partner's path does not reach it.
        other = (await c.get(f"/api/v1/partners/{sid}/prices")).json()["items"][0]
        assert (await c.delete(f"/api/v1/partners/{cid}/prices/{other['id']}")).status_code == 404

        audit = (await c.get("/api/v1/audit", params={"limit": 100})).json()["items"]
        prices = [(a["action"], a["entity_id"]) for a in audit if a["entity"] == "partner_prices"]
        assert ("create", first["id"]) in prices and ("delete", first["id"]) in prices
        assert any(a["entity"] == "partners" and a["action"] == "create" for a in audit)


async def test_partner_prices_are_isolated(make_tenant, live):
    await make_tenant("pt-abc")
    await make_tenant("pt-xyz")
    async with live.tenant_client("pt-abc") as abc, live.tenant_client("pt-xyz") as xyz:
        vid, cid, _ = await _setup(abc)
        price = (await abc.post(f"/api/v1/partners/{cid}/prices", json={
            "variant_id": vid, "side": "sale", "price": "2350", "effective_from": "2026-01-01"})).json()
        xyz_vid, xyz_cid, _ = await _setup(xyz)
        assert (await xyz.get(f"/api/v1/partners/{cid}/prices")).status_code == 404
        assert (await xyz.delete(f"/api/v1/partners/{cid}/prices/{price['id']}")).status_code == 404
        assert (await xyz.delete(f"/api/v1/partners/{xyz_cid}/prices/{price['id']}")).status_code == 404
        # pt-abc's variant is unknown on pt-xyz.
        r = await xyz.post(f"/api/v1/partners/{xyz_cid}/prices", json={
            "variant_id": vid, "side": "sale", "price": "1", "effective_from": "2026-01-01"})
        assert r.status_code == 422 and r.json()["detail"] == "unknown variant_id"
        assert (await abc.get(f"/api/v1/partners/{cid}/prices")).json()["items"][0]["price"] == "2350.00"
