"""Routes over HTTP: a valid woven-bag route (steps chained through their BOMs, machines by id or code), each
validation refusing with a message naming the step, the default route, and the changes a route allows."""

from tests.erp.production.floor.helpers import post, route_body, woven_bag


def _detail(r) -> str:
    body = r.json()["detail"]
    return body if isinstance(body, str) else " | ".join(e["msg"] for e in body)


async def test_a_valid_route_and_its_default(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        ids = await woven_bag(c, "WB")
        r = await c.post("/api/v1/routes", json=route_body("WB", "wb-rt1", ids))
        assert r.status_code == 201, r.text
        route = r.json()
        assert route["code"] == "WB-RT1" and route["is_default"] and route["is_active"]  # the product's first
        steps = route["steps"]
        assert [s["seq"] for s in steps] == [10, 20, 30]
        assert [s["stage"] for s in steps] == ["extrusion", "weaving", "cutting_sewing"]
        # A step without bom_id took its output's default BOM; machines given by code or id.
        assert [s["bom_id"] for s in steps] == [ids["bom_tape"], ids["bom_fabric"], ids["bom_bag"]]
        assert [s["machine_ids"] for s in steps] == [[ids["m_ext"]], [ids["m_loom"]], [ids["m_sew"]]]
        assert [s["machine_codes"] for s in steps] == [["WB-EXT"], ["WB-LOOM"], ["WB-SEW"]]
        assert [s["output_sku"] for s in steps] == ["WB-TAPE", "WB-FABRIC", "WB-BAG"]
        assert route["product_sku"] == "WB-BAG"
        assert steps[0]["std_rate"] == "180.000" and steps[2]["rate_unit"] == "pcs_per_hour"
        assert (await c.get(f"/api/v1/routes/{route['id']}")).json() == route

        r = await c.post("/api/v1/routes", json=route_body("WB", "WB-RT1", ids))
        assert r.status_code == 409 and "route code 'WB-RT1' is already used" in _detail(r)
        second = await post(c, "/api/v1/routes", route_body("WB", "WB-RT2", ids))
        assert not second["is_default"]
        r = await c.post(f"/api/v1/routes/{second['id']}/make-default")
        assert r.status_code == 200 and r.json()["is_default"]
        assert not (await c.get(f"/api/v1/routes/{route['id']}")).json()["is_default"]
        assert (await c.post(f"/api/v1/routes/{second['id']}/make-default")).status_code == 409

        # PATCH: name / note / is_active only; an inactive route is no one's default.
        r = await c.patch(f"/api/v1/routes/{second['id']}", json={"steps": []})
        assert r.status_code == 422
        r = await c.patch(f"/api/v1/routes/{second['id']}", json={"name": "Karung 50 kg", "is_active": False})
        assert r.status_code == 200 and r.json()["name"] == "Karung 50 kg" and not r.json()["is_default"]
        r = await c.post(f"/api/v1/routes/{second['id']}/make-default")
        assert r.status_code == 409 and "inactive" in _detail(r)
        listed = (await c.get("/api/v1/routes", params={"active": True})).json()
        assert [x["code"] for x in listed["items"]] == ["WB-RT1"] and listed["total"] == 1


async def test_route_validation_names_the_step(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        ids = await woven_bag(c, "WB")
        # A bag BOM that skips the tape (fabric and thread only), and a retired loom.
        no_tape = await post(c, "/api/v1/boms", {"sku": "WB-BAG", "stage": "cutting_sewing", "make_default": False,
                                                 "output_quantity": "100", "lines": [
                                                     {"sku": "WB-FABRIC", "quantity": "8"},
                                                     {"sku": "WB-THREAD", "quantity": "0.5"}]})
        old_loom = await post(c, "/api/v1/machines", {"code": "WB-LOOM-OLD", "name": "old loom",
                                                      "machine_type": "loom", "status": "retired"})
        good = route_body("WB", "WB-BAD", ids)

        def variant(**changes):
            body = {**good, "steps": [dict(s) for s in good["steps"]]}
            for n, step in changes.pop("steps", {}).items():
                body["steps"][n] = {**body["steps"][n], **step}
            return {**body, **changes}

        cases = [
            (variant(steps={1: {"machines": ["WB-EXT"]}}), "step 20 (weaving): machine WB-EXT is an extruder; weaving "
                                                           "needs a loom"),
            (variant(steps={1: {"machines": ["NOPE"]}}), "step 20 (weaving): machine NOPE not found"),
            (variant(steps={1: {"machines": [old_loom["id"]]}}), "step 20 (weaving): machine WB-LOOM-OLD is retired"),
            ({**good, "steps": good["steps"][:2]},
             "the last step (step 20) makes WB-FABRIC, not the route's product WB-BAG"),
            (variant(steps={1: {"bom_id": ids["bom_tape"]}}),
             "step 20 (weaving): BOM version 1 makes WB-TAPE, not the step's output WB-FABRIC"),
            (variant(steps={1: {"stage": "lamination", "machines": []}}),
             "step 20 (lamination): BOM version 1 of WB-FABRIC is a weaving BOM"),
            ({**good, "steps": [good["steps"][0], {**good["steps"][2], "seq": 20, "bom_id": no_tape["id"]}]},
             "step 20 (cutting_sewing): its BOM (version 2 of WB-BAG) does not use the previous step's output WB-TAPE"),
            (variant(steps={0: {"sku": "WB-PP", "bom_id": None}}),
             "step 10 (extrusion): WB-PP has no default BOM: give the step's bom_id"),
            (variant(steps={0: {"sku": "GHOST"}}), "step 10 (extrusion): output GHOST not found"),
            (variant(sku="WB-SERVICE"), "WB-SERVICE is a service: it has no route"),
            (variant(steps={1: {"seq": 10}}), "each step needs its own seq"),
            ({**good, "steps": []}, "at least 1 item"),
            (variant(steps={0: {"std_rate": "0"}}), "greater than 0"),
        ]
        for body, message in cases:
            r = await c.post("/api/v1/routes", json=body)
            assert r.status_code == 422 and message in _detail(r), (message, r.status_code, r.text)
        assert (await c.get("/api/v1/routes")).json()["total"] == 0

        # An archived BOM is refused on a step too.
        await post(c, f"/api/v1/boms/{ids['bom_fabric']}/archive")
        r = await c.post("/api/v1/routes", json=variant(steps={1: {"bom_id": ids["bom_fabric"]}}))
        assert r.status_code == 422 and "step 20 (weaving): BOM version 1 of WB-FABRIC is archived" in _detail(r)
