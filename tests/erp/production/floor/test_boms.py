"""Bills of materials over HTTP: versions (a new version, the old one kept), the default, validation with
clear 4xx (missing and service components, the product as its own component, a cycle through the default
BOMs named, the regrind cap), the state actions, and the multi-level explosion computed by hand."""

import asyncio
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.production.floor import service
from polyflow.erp.production.floor.schemas import BomIn
from tests.erp.production.floor.helpers import post, product, woven_bag


def _detail(r) -> str:
    body = r.json()["detail"]
    return body if isinstance(body, str) else " | ".join(e["msg"] for e in body)


async def test_the_explosion_of_a_three_level_bom_applies_each_levels_scrap(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        ids = await woven_bag(c, "WB")
        r = await c.get(f"/api/v1/boms/{ids['bom_bag']}/explode", params={"quantity": "1000"})
        assert r.status_code == 200, r.text
        x = r.json()
    mats = {m["sku"]: m for m in x["materials"]}
    mids = {m["sku"]: m for m in x["intermediates"]}
    assert x["quantity"] == "1000.000"
    # Level 1 (bag BOM: per 100 PCS, scrap 5 %): factor 1000 x 1.05 / 100 = 10.5
    #   fabric 8 x 10.5 = 84 ; thread 0.5 x 10.5 = 5.25 (no BOM: a material) ; tape (ties) 0.2 x 10.5 = 2.1
    # Level 2 (fabric BOM: per 1 KG, scrap 2 %): 84 x 1.02 = 85.68 of tape
    #   tape in all: 2.1 + 85.68 = 87.78, exploded once at its deepest level (2)
    # Level 3 (tape BOM: per 100 KG, scrap 4 %): factor 87.78 x 1.04 / 100 = 0.912912
    #   PP 80 x 0.912912 = 73.03296 ; CaCO3 15 x 0.912912 = 13.69368 ;
    #   regrind (a leaf: it comes off the floor's own scrap) 5 x 0.912912 = 4.56456
    assert mids["WB-FABRIC"]["quantity"] == "84.000000" and mids["WB-FABRIC"]["level"] == 1
    assert mids["WB-FABRIC"]["bom_id"] == ids["bom_fabric"]
    assert mids["WB-TAPE"]["quantity"] == "87.780000" and mids["WB-TAPE"]["level"] == 2
    assert mats["WB-THREAD"]["quantity"] == "5.250000" and mats["WB-THREAD"]["level"] == 1
    assert mats["WB-PP"]["quantity"] == "73.032960" and mats["WB-PP"]["level"] == 3
    assert mats["WB-CACO3"]["quantity"] == "13.693680"
    assert mats["WB-REGRIND"]["quantity"] == "4.564560" and mats["WB-REGRIND"]["bom_id"] is None
    assert set(mats) == {"WB-THREAD", "WB-PP", "WB-CACO3", "WB-REGRIND"} and set(mids) == {"WB-FABRIC", "WB-TAPE"}
    assert Decimal(mats["WB-PP"]["quantity"]) == Decimal(80) * (Decimal("0.2") * Decimal("10.5")
                                                                + Decimal(84) * Decimal("1.02")) * Decimal("1.04") / 100
    assert mats["WB-PP"]["unit"] == "KG"

    async with live.tenant_client("pt-abc") as c:
        # Without a quantity: the BOM's own output (100 PCS -> fabric 8 x 1.05 = 8.4).
        r = await c.get(f"/api/v1/boms/{ids['bom_bag']}/explode")
        assert {m["sku"]: m["quantity"] for m in r.json()["intermediates"]}["WB-FABRIC"] == "8.400000"
        for bad in ("0", "-1", "abc"):
            r = await c.get(f"/api/v1/boms/{ids['bom_bag']}/explode", params={"quantity": bad})
            assert r.status_code == 422, (bad, r.text)


async def test_a_new_version_keeps_the_old_one_and_the_default_moves_only_when_asked(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        ids = await woven_bag(c, "WB")
        v1 = (await c.get(f"/api/v1/boms/{ids['bom_fabric']}")).json()
        # The first BOM of a product became its default without being asked.
        assert v1["version"] == 1 and v1["is_default"] and v1["is_active"]
        assert v1["product_sku"] == "WB-FABRIC" and v1["lines"] == [{
            "line_no": 1, "variant_id": ids["v_tape"], "sku": "WB-TAPE", "unit": "KG", "quantity": "1.000000",
            "is_regrind": False, "note": None}]
        base = {"sku": "WB-FABRIC", "stage": "weaving", "expected_scrap_pct": "1.5",
                "lines": [{"variant_id": ids["v_tape"], "quantity": "1.01"}]}
        v2 = await post(c, "/api/v1/boms", {**base, "name": "less scrap"})
        assert v2["version"] == 2 and not v2["is_default"]  # a product with a default keeps it unless asked
        v3 = await post(c, "/api/v1/boms", {**base, "make_default": True})
        assert v3["version"] == 3 and v3["is_default"]
        old = (await c.get(f"/api/v1/boms/{v1['id']}")).json()
        assert not old["is_default"] and old["is_active"]
        assert old["lines"] == v1["lines"] and old["expected_scrap_pct"] == "2.00"  # untouched
        page = (await c.get("/api/v1/boms", params={"product_id": v1["product_id"]})).json()
        assert [b["version"] for b in page["items"]] == [3, 2, 1] and page["total"] == 3
        assert [b["version"] for b in (await c.get("/api/v1/boms", params={
            "product_id": v1["product_id"], "is_default": True})).json()["items"]] == [3]

        # Never edited in place: PATCH takes the name and the note only.
        r = await c.patch(f"/api/v1/boms/{v1['id']}", json={"lines": [{"sku": "WB-PP", "quantity": "1"}]})
        assert r.status_code == 422
        r = await c.patch(f"/api/v1/boms/{v1['id']}", json={"name": "first trial", "note": "kept for SPK-0001"})
        assert r.status_code == 200 and r.json()["name"] == "first trial" and r.json()["lines"] == v1["lines"]

        # archive / activate / make-default, each refusing the wrong state with the allowed actions.
        r = await c.post(f"/api/v1/boms/{v3['id']}/archive")
        assert r.status_code == 200 and not r.json()["is_active"] and not r.json()["is_default"]
        r = await c.post(f"/api/v1/boms/{v3['id']}/archive")
        assert r.status_code == 409 and "already archived (allowed: activate)" in _detail(r)
        r = await c.post(f"/api/v1/boms/{v3['id']}/make-default")
        assert r.status_code == 409 and "archived" in _detail(r)
        assert (await c.get("/api/v1/boms", params={"product_id": v1["product_id"], "active": False})).json()[
            "total"] == 1
        r = await c.post(f"/api/v1/boms/{v3['id']}/activate")
        assert r.status_code == 200 and r.json()["is_active"] and not r.json()["is_default"]
        assert (await c.post(f"/api/v1/boms/{v3['id']}/activate")).status_code == 409
        r = await c.post(f"/api/v1/boms/{v1['id']}/make-default")
        assert r.status_code == 200 and r.json()["is_default"]
        assert not (await c.get(f"/api/v1/boms/{v3['id']}")).json()["is_default"]
        assert (await c.post(f"/api/v1/boms/{v1['id']}/make-default")).status_code == 409


async def test_components_are_checked_with_clear_messages(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        ids = await woven_bag(c, "WB")
        await product(c, "WB-OLD", "raw_material")
        old = (await c.get("/api/v1/products", params={"q": "WB-OLD"})).json()["items"][0]
        assert (await c.patch(f"/api/v1/products/{old['id']}", json={"is_active": False})).status_code == 200
        base = {"sku": "WB-FABRIC", "stage": "weaving"}
        cases = [
            ({"lines": [{"sku": "NOPE", "quantity": "1"}]}, 422, "line 1: component NOPE not found"),
            ({"lines": [{"sku": "WB-TAPE", "quantity": "1"}, {"sku": "WB-OLD", "quantity": "1"}]}, 422,
             "line 2: WB-OLD is inactive"),
            ({"lines": [{"sku": "WB-TAPE", "quantity": "1"}, {"sku": "WB-SERVICE", "quantity": "1"}]}, 422,
             "line 2: WB-SERVICE is a service, not a stocked material"),
            ({"lines": [{"sku": "WB-FABRIC", "quantity": "1"}]}, 422,
             "line 1: WB-FABRIC is the product itself: a product cannot be its own component"),
            ({"lines": [{"sku": "WB-TAPE", "quantity": "1"}, {"variant_id": ids["v_tape"], "quantity": "2"}]}, 422,
             "line 2: WB-TAPE is listed twice"),
            ({"lines": []}, 422, "at least 1 item"),
            ({"lines": [{"sku": "WB-TAPE", "quantity": "0"}]}, 422, "greater than 0"),
            ({"lines": [{"sku": "WB-TAPE", "variant_id": ids["v_tape"], "quantity": "1"}]}, 422, "one of them"),
            ({"lines": [{"sku": "WB-TAPE", "quantity": "1"}], "expected_scrap_pct": "100"}, 422, "less than 100"),
            ({"lines": [{"sku": "WB-TAPE", "quantity": "1"}], "stage": "melting"}, 422, "Input should be"),
            ({"lines": [{"sku": "WB-TAPE", "quantity": "1"}], "version": 7}, 422, "Extra inputs are not permitted"),
            ({"lines": [{"sku": "WB-TAPE", "quantity": "1"}], "sku": "WB-SERVICE"}, 422,
             "WB-SERVICE is a service: it has no bill of materials"),
            ({"lines": [{"sku": "WB-TAPE", "quantity": "1"}], "sku": "GHOST"}, 422, "product GHOST not found"),
        ]
        for extra, status, message in cases:
            r = await c.post("/api/v1/boms", json={**base, **extra})
            assert r.status_code == status and message in _detail(r), (extra, r.status_code, r.text)
        # Nothing was written by the refusals: the fabric still has its one version.
        assert (await c.get("/api/v1/boms", params={"product_id": (await c.get(
            f"/api/v1/boms/{ids['bom_fabric']}")).json()["product_id"]})).json()["total"] == 1


async def test_a_cycle_through_the_default_boms_is_refused_naming_the_chain(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        ids = await woven_bag(c, "WB")
        # tape made from bag (whose default BOM takes fabric, made from tape): tape -> bag -> fabric -> tape;
        # the bag's BOM also takes tape directly, and the depth-first walk meets fabric first.
        r = await c.post("/api/v1/boms", json={"sku": "WB-TAPE", "stage": "rework", "make_default": False,
                                               "lines": [{"sku": "WB-BAG", "quantity": "1"}]})
        assert r.status_code == 422, r.text
        assert _detail(r) == "this BOM would make a cycle through the default BOMs: WB-TAPE -> WB-BAG -> WB-FABRIC " \
                             "-> WB-TAPE"
        r = await c.post("/api/v1/boms", json={"sku": "WB-TAPE", "stage": "rework",
                                               "lines": [{"sku": "WB-FABRIC", "quantity": "1"}]})
        assert r.status_code == 422 and _detail(r).endswith("WB-TAPE -> WB-FABRIC -> WB-TAPE")

        # Without the default that closes the loop, the same BOM is fine; making the loop's link the
        # default again is then refused (the check runs on make-default too).
        fabric_v2 = await post(c, "/api/v1/boms", {"sku": "WB-FABRIC", "stage": "weaving", "make_default": True,
                                                   "lines": [{"sku": "WB-PP", "quantity": "1"}]})
        assert fabric_v2["is_default"]
        tape_rework = await post(c, "/api/v1/boms", {"sku": "WB-TAPE", "stage": "rework", "make_default": True,
                                                     "lines": [{"sku": "WB-FABRIC", "quantity": "1"}]})
        assert tape_rework["version"] == 2 and tape_rework["is_default"]
        r = await c.post(f"/api/v1/boms/{ids['bom_fabric']}/make-default")
        assert r.status_code == 422 and _detail(r).endswith("WB-FABRIC -> WB-TAPE -> WB-FABRIC")
        assert (await c.get(f"/api/v1/boms/{fabric_v2['id']}")).json()["is_default"]


async def test_regrind_may_take_at_most_its_share_of_the_material_mass(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        await woven_bag(c, "WB")
        await product(c, "WB-CORE", "packaging", "PCS")
        lines = [{"sku": "WB-PP", "quantity": "60"}, {"sku": "WB-REGRIND", "quantity": "20", "is_regrind": True},
                 {"sku": "WB-CORE", "quantity": "1"}]
        base = {"sku": "WB-TAPE", "stage": "extrusion", "output_quantity": "78", "make_default": False}
        # Mass = the KG lines only: 60 + 20 = 80 KG (the PCS core is not mass); regrind 20 / 80 = 25.00 %.
        r = await c.post("/api/v1/boms", json={**base, "max_regrind_pct": "20", "lines": lines})
        assert r.status_code == 422
        assert _detail(r) == "regrind makes 25.00% of the material mass (20 of 80 KG), above this BOM's " \
                             "max_regrind_pct 20.00%"
        r = await c.post("/api/v1/boms", json={**base, "lines": lines})
        assert r.status_code == 422 and "sets no max_regrind_pct" in _detail(r)
        r = await c.post("/api/v1/boms", json={**base, "max_regrind_pct": "25", "lines": lines})
        assert r.status_code == 201 and r.json()["max_regrind_pct"] == "25.00"
        # A regrind line must be weighed (its share is of the mass).
        r = await c.post("/api/v1/boms", json={**base, "max_regrind_pct": "50", "lines": [
            {"sku": "WB-PP", "quantity": "60"}, {"sku": "WB-CORE", "quantity": "1", "is_regrind": True}]})
        assert r.status_code == 422 and "regrind lines must be in KG" in _detail(r)


async def test_two_versions_posted_at_once_get_consecutive_numbers(make_tenant, live, tenant_engine):
    tenant = await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        await woven_bag(c, "WB")
    data = BomIn(sku="WB-FABRIC", stage="weaving", make_default=True, lines=[{"sku": "WB-TAPE", "quantity": "1.03"}])
    engine = tenant_engine(tenant)
    async with AsyncSession(engine, expire_on_commit=False) as first, \
            AsyncSession(engine, expire_on_commit=False) as second:
        v2 = await service.create_bom(first, data, None)
        # Without the BOM writers' lock the second would also read version 1 as the latest, and one of the
        # two commits would fail on (product, version) or on the one-default index.
        racing = asyncio.create_task(service.create_bom(second, data, None))
        await asyncio.sleep(0.5)
        assert not racing.done()
        await first.commit()
        v3 = await racing
        await second.commit()
        assert (v2.version, v3.version) == (2, 3) and v3.is_default
    async with live.tenant_client("pt-abc") as c:
        page = (await c.get("/api/v1/boms", params={"product_id": str(v2.product_id)})).json()
        assert [(b["version"], b["is_default"]) for b in page["items"]] == [(3, True), (2, False), (1, False)]
