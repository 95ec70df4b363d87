"""Partners over HTTP: create/read/update/deactivate, NPWP/NIK/NITKU validation and normalisation, search
and pagination, who may read and write (sales or purchasing), and tenant isolation."""

from polyflow.platform import entitlements
from tests.fixtures.auth import make_user

PT_MAJU = {"code": "c-001", "name": "PT Maju Plastik", "is_customer": True, "npwp": "01.234.567.8-901.000",
           "is_pkp": True, "address": "Jl. Industri 5", "city": "Tangerang", "payment_terms_days": 30,
           "credit_limit": "250000000"}


def _detail(r) -> str:
    body = r.json()["detail"]
    return body if isinstance(body, str) else " | ".join(e["msg"] for e in body)


async def test_create_read_update_deactivate(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        r = await c.post("/api/v1/partners", json=PT_MAJU)
        assert r.status_code == 201, r.text
        p = r.json()
        # Code upper-cased; the legacy 15-digit NPWP (with dots and dash) stored as the 16-digit one; the
        # NITKU defaults to the head office; money in its one canonical form.
        assert p["code"] == "C-001" and p["npwp"] == "0012345678901000"
        assert p["nitku"] == "0012345678901000000000" and p["credit_limit"] == "250000000.00"
        assert p["is_customer"] and not p["is_supplier"] and p["is_active"] and p["payment_terms_days"] == 30
        assert (await c.get(f"/api/v1/partners/{p['id']}")).json() == p

        r = await c.patch(f"/api/v1/partners/{p['id']}", json={"is_supplier": True, "credit_limit": "300000000.00",
                                                                "npwp": "9876-5432-1098-7654", "city": None})
        assert r.status_code == 200, r.text
        q = r.json()
        # A new NPWP moves a default NITKU along with it; null clears an optional field.
        assert q["npwp"] == "9876543210987654" and q["nitku"] == "9876543210987654000000"
        assert q["is_supplier"] and q["city"] is None and q["credit_limit"] == "300000000.00"
        # A branch NITKU is kept when the NPWP stays.
        r = await c.patch(f"/api/v1/partners/{p['id']}", json={"nitku": "9876543210987654000002", "name": None})
        assert r.json()["nitku"] == "9876543210987654000002" and r.json()["name"] == "PT Maju Plastik"

        r = await c.post(f"/api/v1/partners/{p['id']}/deactivate")
        assert r.status_code == 200 and r.json()["is_active"] is False
        assert (await c.get("/api/v1/partners", params={"active": True})).json()["total"] == 0
        assert (await c.post(f"/api/v1/partners/{p['id']}/activate")).json()["is_active"] is True

        # The code is unique per tenant (409) and not editable (422).
        r = await c.post("/api/v1/partners", json={**PT_MAJU, "code": "c-001", "npwp": None, "is_pkp": False})
        assert r.status_code == 409 and "C-001" in r.json()["detail"]
        assert (await c.patch(f"/api/v1/partners/{p['id']}", json={"code": "X"})).status_code == 422


async def test_identity_numbers_are_validated_with_a_message(make_tenant, live):
    await make_tenant("pt-abc")
    base = {"code": "S-1", "name": "CV Sumber Resin", "is_supplier": True}
    cases = [
        ({"npwp": "12.345.678.9-012"}, "NPWP must have 16 digits (or a legacy 15); this one has 12"),
        ({"npwp": "0123456789O12345"}, "NPWP may hold only digits"),
        ({"npwp": "0000000000000000"}, "NPWP cannot be all zeros"),
        ({"nitku": "12345"}, "NITKU must have 22 digits"),
        ({"npwp": "1234567890123456", "nitku": "6543210987654321000000"}, "is not a place of business of 1234567890123456"),
        ({"nitku": "1234567890123456000000"}, "a NITKU needs the partner's NPWP"),
        ({"nik": "3171012345678901"}, "NIK is for individuals"),
        ({"entity_type": "individual", "nik": "317101234567"}, "NIK must have 16 digits; this one has 12"),
        ({"is_pkp": True}, "a PKP (VAT-registered) partner must have its NPWP"),
        ({"is_supplier": False}, "a customer, a supplier or both"),
        ({"credit_limit": "1000.50"}, "Decimal input should have no more than 0 decimal places"),
        ({"credit_limit": "-1"}, "greater than or equal to 0"),
        ({"email": "not-an-email"}, "should match pattern"),
    ]
    async with live.tenant_client("pt-abc") as c:
        for extra, message in cases:
            r = await c.post("/api/v1/partners", json={**base, **extra})
            assert r.status_code == 422, (extra, r.text)
            assert message in _detail(r), (extra, r.text)
        assert (await c.get("/api/v1/partners")).json()["total"] == 0  # nothing half-written

        # An individual without NPWP is identified by the NIK; the NITKU follows it.
        r = await c.post("/api/v1/partners", json={**base, "entity_type": "individual", "nik": "3171 0123 4567 8901"})
        assert r.status_code == 201, r.text
        assert r.json()["nik"] == "3171012345678901" and r.json()["nitku"] == "3171012345678901000000"
        pid = r.json()["id"]
        # PATCH re-checks the fields together (a company cannot keep a NIK).
        r = await c.patch(f"/api/v1/partners/{pid}", json={"entity_type": "company"})
        assert r.status_code == 422 and "NIK is for individuals" in r.json()["detail"]
        r = await c.patch(f"/api/v1/partners/{pid}", json={"npwp": "123"})
        assert r.status_code == 422 and "this one has 3" in _detail(r)
        assert (await c.get(f"/api/v1/partners/{pid}")).json()["entity_type"] == "individual"


async def test_search_filters_and_pagination(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        for i in range(6):
            r = await c.post("/api/v1/partners", json={"code": f"C-{i:03d}", "name": f"Toko Plastik {i}",
                                                       "is_customer": True, "npwp": f"{i + 1:016d}"})
            assert r.status_code == 201, r.text
        await c.post("/api/v1/partners", json={"code": "S-001", "name": "PT Resin 100% Murni", "is_supplier": True,
                                               "npwp": "02.111.222.3-444.000"})
        both = (await c.post("/api/v1/partners", json={"code": "B-001", "name": "CV Dua Arah", "is_customer": True,
                                                       "is_supplier": True})).json()
        await c.post(f"/api/v1/partners/{both['id']}/deactivate")

        page = (await c.get("/api/v1/partners", params={"limit": 3, "offset": 3})).json()
        assert page["total"] == 8 and [p["code"] for p in page["items"]] == ["C-002", "C-003", "C-004"]  # B-001 sorts first
        past = (await c.get("/api/v1/partners", params={"limit": 3, "offset": 50})).json()
        assert (past["items"], past["total"], past["limit"], past["offset"]) == ([], 8, 3, 50)
        assert (await c.get("/api/v1/partners", params={"is_customer": True})).json()["total"] == 7
        assert (await c.get("/api/v1/partners", params={"is_supplier": True})).json()["total"] == 2
        suppliers = (await c.get("/api/v1/partners", params={"is_supplier": True, "active": True})).json()
        assert [p["code"] for p in suppliers["items"]] == ["S-001"]
        assert (await c.get("/api/v1/partners", params={"q": "toko"})).json()["total"] == 6
        # NPWP search accepts the printed form (legacy 15 digits with dots and dash) and a prefix.
        found = (await c.get("/api/v1/partners", params={"q": "02.111.222.3-444.000"})).json()
        assert [p["code"] for p in found["items"]] == ["S-001"]
        assert [p["code"] for p in (await c.get("/api/v1/partners", params={"q": "0000000000000004"})).json()["items"]] == ["C-003"]
        # Wildcards are literal.
        assert [p["code"] for p in (await c.get("/api/v1/partners", params={"q": "100%"})).json()["items"]] == ["S-001"]
        assert (await c.get("/api/v1/partners", params={"q": "_"})).json()["total"] == 0
        names = [p["name"] for p in (await c.get("/api/v1/partners", params={"sort": "-name", "limit": 2})).json()["items"]]
        assert names == ["Toko Plastik 5", "Toko Plastik 4"]
        # The page size has a hard cap (kit/pagination.py: refused, or clamped and said so).
        r = await c.get("/api/v1/partners", params={"limit": 100_000})
        assert r.status_code == 422 or (r.status_code == 200 and r.json()["limit"] <= 500), r.text
        assert (await c.get("/api/v1/partners", params={"limit": 0})).status_code == 422


async def test_sales_and_purchasing_keep_partners_others_only_read(platform, make_tenant, live):
    await make_tenant("pt-abc")
    await entitlements.set_plan(platform, "pt-abc", "pro")  # every module, room for a user per role
    body = {"code": "C-9", "name": "PT Pembeli", "is_customer": True}
    async with live.tenant_client("pt-abc", role="sales") as sales, \
            live.tenant_client("pt-abc", role="purchasing") as buyer, \
            live.tenant_client("pt-abc", role="warehouse") as warehouse, \
            live.tenant_client("pt-abc", role="viewer") as viewer, \
            live.tenant_client("pt-abc", role="production") as production:
        r = await sales.post("/api/v1/partners", json=body)
        assert r.status_code == 201, r.text
        pid = r.json()["id"]
        r = await buyer.post("/api/v1/partners", json={**body, "code": "S-9", "is_customer": False, "is_supplier": True})
        assert r.status_code == 201, r.text
        assert (await buyer.patch(f"/api/v1/partners/{pid}", json={"is_supplier": True})).status_code == 200
        for reader in (warehouse, viewer):
            assert (await reader.get("/api/v1/partners")).json()["total"] == 2
            assert (await reader.get(f"/api/v1/partners/{pid}")).status_code == 200
        r = await warehouse.post("/api/v1/partners", json={**body, "code": "C-10"})
        assert r.status_code == 403
        assert r.json()["detail"] == "your role (warehouse) does not allow sales.write or purchasing.write"
        for action in ("patch", "post"):
            path = f"/api/v1/partners/{pid}" + ("" if action == "patch" else "/deactivate")
            r = await viewer.request(action.upper(), path, json={"name": "hijack"} if action == "patch" else None)
            assert r.status_code == 403 and "does not allow sales.write or purchasing.write" in r.json()["detail"]
        r = await production.get("/api/v1/partners")
        assert r.status_code == 403
        assert r.json()["detail"] == "your role (production) does not allow sales.read or purchasing.read"
        assert (await sales.get(f"/api/v1/partners/{pid}")).json()["name"] == "PT Pembeli"


async def test_a_plan_without_sales_and_purchasing_has_no_partners(platform, make_tenant, live):
    await make_tenant("pt-abc")
    from polyflow.platform.models import Plan
    from sqlalchemy.ext.asyncio import AsyncSession
    async with AsyncSession(platform.main_engine) as session:
        session.add(Plan(code="books-only", name="Books", monthly_price="1", max_users=None,
                         modules=["catalog", "inventory", "accounting"], trial_days=0, is_active=True))
        session.add(Plan(code="buying", name="Buying", monthly_price="1", max_users=None,
                         modules=["catalog", "purchasing"], trial_days=0, is_active=True))
        await session.commit()
    await entitlements.set_plan(platform, "pt-abc", "books-only")
    owner = make_user(live.settings, "pt-abc", ["owner"])
    async with live.client("pt-abc." + live.settings.root_domain,
                           headers={"Authorization": f"Bearer {owner['token']}"}) as c:
        r = await c.get("/api/v1/partners")
        assert r.status_code == 403 and r.json()["detail"] == "module 'sales' is not in your plan", r.text
        # One of the two modules is enough (the route cache takes a moment to see the new plan).
        await entitlements.set_plan(platform, "pt-abc", "buying")
        import asyncio
        for _ in range(100):
            if (r := await c.get("/api/v1/partners")).status_code == 200:
                break
            await asyncio.sleep(0.02)
        assert r.status_code == 200, r.text


async def test_partners_are_isolated_between_tenants(make_tenant, live):
    await make_tenant("pt-abc")
    await make_tenant("pt-xyz")
    async with live.tenant_client("pt-abc") as abc, live.tenant_client("pt-xyz") as xyz:
        pid = (await abc.post("/api/v1/partners", json=PT_MAJU)).json()["id"]
        assert (await xyz.get(f"/api/v1/partners/{pid}")).status_code == 404
        assert (await xyz.patch(f"/api/v1/partners/{pid}", json={"name": "hijacked"})).status_code == 404
        assert (await xyz.post(f"/api/v1/partners/{pid}/deactivate")).status_code == 404
        assert (await xyz.get("/api/v1/partners", params={"q": "Maju"})).json()["total"] == 0
        # The same code is free on the other tenant.
        assert (await xyz.post("/api/v1/partners", json=PT_MAJU)).status_code == 201
        mine = (await abc.get(f"/api/v1/partners/{pid}")).json()
        assert mine["name"] == "PT Maju Plastik" and mine["is_active"] is True
