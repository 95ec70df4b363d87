"""Floor records for the tests here and the security sweeps (tests/security): a small woven-bag catalogue,
its BOMs and a route, one of each floor record, and valid bodies for every floor route that takes one."""

from __future__ import annotations

FLOOR_TABLES = ("machines", "machine_downtimes", "shifts", "operators", "piece_rates", "boms", "bom_lines", "routes",
                "route_steps", "route_step_machines")
NO_ID = "00000000-0000-4000-8000-000000000000"


async def post(client, path: str, body: dict | None = None) -> dict:
    r = await client.post(path, json=body if body is not None else {})
    assert r.status_code in (200, 201), (path, r.status_code, r.text)
    return r.json()


async def product(client, sku: str, product_type: str, unit: str = "KG") -> str:
    """A product with its default variant; the variant's id."""
    body = await post(client, "/api/v1/products", {"sku": sku, "name": f"{sku} name", "unit": unit,
                                                   "product_type": product_type})
    return body["variants"][0]["id"]


async def woven_bag(client, tag: str = "WB") -> dict[str, str]:
    """Resin, filler, regrind, thread -> tape (extrusion) -> fabric (weaving) -> bag (cutting/sewing): the
    products' variant ids (by short name), their default BOMs and machines of each needed type.

    Figures (kept simple enough to explode by hand):
      tape   : 100 KG  <- PP 80, CaCO3 15, regrind 5 (regrind, max 10 %), expected scrap 4 %
      fabric :   1 KG  <- tape 1, expected scrap 2 %
      bag    : 100 PCS <- fabric 8 KG, thread 0.5 KG, tape 0.2 KG (ties), expected scrap 5 %
    """
    v = {}
    for name, ptype, unit in (("pp", "raw_material", "KG"), ("caco3", "raw_material", "KG"),
                              ("regrind", "scrap", "KG"), ("thread", "auxiliary", "KG"),
                              ("tape", "intermediate", "KG"), ("fabric", "intermediate", "KG"),
                              ("bag", "finished_good", "PCS"), ("service", "service", "PCS")):
        v[name] = await product(client, f"{tag}-{name.upper()}", ptype, unit)
    tape = await post(client, "/api/v1/boms", {
        "sku": f"{tag}-TAPE", "stage": "extrusion", "output_quantity": "100", "expected_scrap_pct": "4",
        "max_regrind_pct": "10", "lines": [{"sku": f"{tag}-PP", "quantity": "80"},
                                           {"sku": f"{tag}-CACO3", "quantity": "15"},
                                           {"sku": f"{tag}-REGRIND", "quantity": "5", "is_regrind": True}]})
    fabric = await post(client, "/api/v1/boms", {
        "sku": f"{tag}-FABRIC", "stage": "weaving", "expected_scrap_pct": "2",
        "lines": [{"variant_id": v["tape"], "quantity": "1"}]})
    bag = await post(client, "/api/v1/boms", {
        "sku": f"{tag}-BAG", "stage": "cutting_sewing", "output_quantity": "100", "expected_scrap_pct": "5",
        "lines": [{"sku": f"{tag}-FABRIC", "quantity": "8"}, {"sku": f"{tag}-THREAD", "quantity": "0.5"},
                  {"sku": f"{tag}-TAPE", "quantity": "0.2"}]})
    machines = {}
    for code, mtype in (("EXT", "extruder"), ("LOOM", "loom"), ("SEW", "cutting_sewing")):
        machines[code] = (await post(client, "/api/v1/machines", {
            "code": f"{tag}-{code}", "name": f"{tag} {mtype}", "machine_type": mtype, "overhead_rate": "15000"}))["id"]
    return {**{f"v_{k}": val for k, val in v.items()}, "bom_tape": tape["id"], "bom_fabric": fabric["id"],
            "bom_bag": bag["id"], **{f"m_{k.lower()}": val for k, val in machines.items()}}


def route_body(tag: str, code: str, ids: dict[str, str]) -> dict:
    """The valid three-step route of the woven bag."""
    return {"code": code, "name": f"{tag} woven bag", "sku": f"{tag}-BAG", "steps": [
        {"seq": 10, "stage": "extrusion", "sku": f"{tag}-TAPE", "bom_id": ids["bom_tape"], "std_rate": "180",
         "machines": [f"{tag}-EXT"]},
        {"seq": 20, "stage": "weaving", "output_variant_id": ids["v_fabric"], "std_rate": "40",
         "machines": [ids["m_loom"]]},
        {"seq": 30, "stage": "cutting_sewing", "sku": f"{tag}-BAG", "std_rate": "600", "rate_unit": "pcs_per_hour",
         "machines": [f"{tag}-SEW"]}]}


async def floor_records(client, tag: str = "PERM-FL") -> dict[str, str]:
    """One record of each floor kind; the path parameter name -> id (helper keys start with '_')."""
    ids = await woven_bag(client, tag)
    route = await post(client, "/api/v1/routes", route_body(tag, f"{tag}-RT", ids))
    downtime = await post(client, f"/api/v1/machines/{ids['m_ext']}/downtimes", {
        "reason": "changeover", "started_at": "2026-03-02T08:00:00+07:00", "note": f"{tag} secret stop"})
    shift = await post(client, "/api/v1/shifts", {"code": f"{tag}-N", "name": f"{tag} malam",
                                                  "starts_at": "23:00", "ends_at": "07:00"})
    operator = await post(client, "/api/v1/operators", {"code": f"{tag}-OP", "name": f"{tag} secret operator"})
    await post(client, "/api/v1/piece-rates", {"stage": "weaving", "rate": "150", "valid_from": "2026-01-01"})
    return {"machine_id": ids["m_ext"], "downtime_id": downtime["id"], "shift_id": shift["id"],
            "operator_id": operator["id"], "bom_id": ids["bom_tape"], "route_id": route["id"],
            **{f"_{k}": val for k, val in ids.items()}}


def floor_bodies(ids: dict[str, str], tag: str = "PERM-FL") -> dict[tuple[str, str], dict]:
    """Valid bodies for the floor routes that take one (a refused request would have changed something)."""
    return {
        ("POST", "/api/v1/machines"): {"code": "PERM-NEW-M", "name": "new loom", "machine_type": "loom"},
        ("PATCH", "/api/v1/machines/{machine_id}"): {"name": "renamed", "status": "maintenance"},
        ("POST", "/api/v1/machines/{machine_id}/downtimes"): {"reason": "power",
                                                               "started_at": "2026-04-01T08:00:00+07:00",
                                                               "ended_at": "2026-04-01T09:00:00+07:00"},
        ("POST", "/api/v1/machines/{machine_id}/downtimes/{downtime_id}/end"): {
            "ended_at": "2026-03-02T09:00:00+07:00"},
        ("POST", "/api/v1/shifts"): {"code": "PERM-P", "name": "pagi", "starts_at": "07:00", "ends_at": "15:00"},
        ("PATCH", "/api/v1/shifts/{shift_id}"): {"name": "renamed"},
        ("POST", "/api/v1/operators"): {"code": "PERM-OP2", "name": "new operator"},
        ("PATCH", "/api/v1/operators/{operator_id}"): {"name": "renamed", "is_active": False},
        ("POST", "/api/v1/piece-rates"): {"stage": "extrusion", "rate": "90", "valid_from": "2026-02-01"},
        ("POST", "/api/v1/boms"): {"sku": f"{tag}-FABRIC", "stage": "weaving", "make_default": False,
                                   "lines": [{"variant_id": ids["_v_tape"], "quantity": "1.02"}]},
        ("PATCH", "/api/v1/boms/{bom_id}"): {"name": "renamed"},
        ("POST", "/api/v1/routes"): route_body(tag, "PERM-RT2", {k.lstrip("_"): v for k, v in ids.items()}),
        ("PATCH", "/api/v1/routes/{route_id}"): {"name": "renamed"},
    }


# Bodies for the cross-tenant sweep: valid in shape, so that a 404 is about the id in the path.
FLOOR_IDOR_BODIES = {
    ("PATCH", "/api/v1/machines/{machine_id}"): {"name": "hijacked", "status": "retired"},
    ("POST", "/api/v1/machines/{machine_id}/downtimes"): {"reason": "power",
                                                           "started_at": "2026-05-01T08:00:00+07:00"},
    ("POST", "/api/v1/machines/{machine_id}/downtimes/{downtime_id}/end"): {},
    ("PATCH", "/api/v1/shifts/{shift_id}"): {"name": "hijacked"},
    ("PATCH", "/api/v1/operators/{operator_id}"): {"name": "hijacked"},
    ("PATCH", "/api/v1/boms/{bom_id}"): {"name": "hijacked"},
    ("PATCH", "/api/v1/routes/{route_id}"): {"name": "hijacked", "is_active": False},
}

def floor_paths(ids: dict[str, str]) -> list[str]:
    """What a tenant's owner reads of its floor records (for before/after snapshots)."""
    return [f"/api/v1/machines/{ids['machine_id']}", f"/api/v1/machines/{ids['machine_id']}/downtimes",
            f"/api/v1/shifts/{ids['shift_id']}", f"/api/v1/operators/{ids['operator_id']}",
            f"/api/v1/boms/{ids['bom_id']}", f"/api/v1/routes/{ids['route_id']}", "/api/v1/machines",
            "/api/v1/boms", "/api/v1/routes", "/api/v1/piece-rates", "/api/v1/shifts", "/api/v1/operators"]
