"""A product created on pt-abc is invisible and unmodifiable from pt-xyz (by list and by guessed id)."""

import asyncpg
import pytest

from polyflow.kit.db import PgDsn
from polyflow.platform.provisioning import tenant_dsn


async def test_products_are_isolated_by_host(make_tenant, live):
    await make_tenant("pt-abc")
    await make_tenant("pt-xyz")
    async with live.tenant_client("pt-abc") as abc, live.tenant_client("pt-xyz") as xyz:
        r = await abc.post("/api/v1/products", json={"sku": "PP-GRN-NAT", "name": "PP granules", "unit": "kg"})
        assert r.status_code == 201, r.text
        product = r.json()
        assert product["unit"] == "KG"
        pid = product["id"]

        # Same SKU on the other tenant is allowed: separate databases, separate uniqueness.
        r = await xyz.post("/api/v1/products", json={"sku": "PP-GRN-NAT", "name": "XYZ's own", "unit": "KG"})
        assert r.status_code == 201
        xyz_id = r.json()["id"]

        listed = (await xyz.get("/api/v1/products")).json()
        assert [p["name"] for p in listed["items"]] == ["XYZ's own"]
        assert (await xyz.get("/api/v1/products", params={"q": "granules"})).json()["total"] == 0

        # Guessed id, every verb: 404 and nothing changes.
        assert (await xyz.get(f"/api/v1/products/{pid}")).status_code == 404
        assert (await xyz.patch(f"/api/v1/products/{pid}", json={"name": "hijacked"})).status_code == 404
        assert (await xyz.delete(f"/api/v1/products/{pid}")).status_code == 404

        mine = (await abc.get(f"/api/v1/products/{pid}")).json()
        assert mine["name"] == "PP granules"
        assert (await abc.get(f"/api/v1/products/{xyz_id}")).status_code == 404
        assert (await abc.get("/api/v1/products")).json()["total"] == 1


async def test_duplicate_sku_is_a_clear_conflict(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as abc:
        body = {"sku": "WB-50KG", "name": "Woven bag 50 kg", "unit": "PCS"}
        assert (await abc.post("/api/v1/products", json=body)).status_code == 201
        r = await abc.post("/api/v1/products", json=body)
        assert r.status_code == 409
        assert "WB-50KG" in r.json()["detail"]
        r = await abc.post("/api/v1/products", json={"sku": "", "name": "x"})
        assert r.status_code == 422
        r = await abc.post("/api/v1/products", json={"sku": "A1", "name": "x", "sell_price": "-1"})
        assert r.status_code == 422
        assert (await abc.get("/api/v1/products/not-a-uuid")).status_code == 422
        assert (await abc.get("/api/v1/products")).json()["total"] == 1


async def test_tenant_role_cannot_connect_to_another_tenants_database(platform, make_tenant):
    abc = await make_tenant("pt-abc")
    xyz = await make_tenant("pt-xyz")
    own = tenant_dsn(abc, platform.secrets)
    conn = await asyncpg.connect(**own.asyncpg_kwargs())
    assert await conn.fetchval("SELECT current_database()") == abc.db_name
    await conn.close()
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await asyncpg.connect(**own.with_database(xyz.db_name).asyncpg_kwargs())
    # Knowing the other tenant's role name is not enough: its password is checked over TCP.
    stranger = PgDsn(own.host, own.port, xyz.db_user, "wrong-password", xyz.db_name)
    with pytest.raises(asyncpg.InvalidPasswordError):
        await asyncpg.connect(**stranger.asyncpg_kwargs())
