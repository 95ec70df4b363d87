"""Shared setup of the production-order tests: products and stock through the catalog and inventory APIs,
the floor's master data (machines, operators, piece rates, BOMs, routes) as ORM rows (the floor endpoints
were being built beside these tests), and the ledger tie GL == stock valuation + WIP."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal as D

from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.models import Bom, BomLine, Machine, Operator, PieceRate, Route, RouteStep, RouteStepMachine

INVENTORY = ("1141", "1142", "1143", "1144")
ORDERS = "/api/v1/production-orders"
RUNS = "/api/v1/production-runs"


async def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, (response.status_code, response.text)
    return response.json() if response.content else {}


async def product(c, sku: str, product_type: str, unit: str = "KG", **extra) -> dict:
    """{'id': product id, 'variant': variant id} (uuid)."""
    body = await ok(await c.post("/api/v1/products", json={"sku": sku, "name": f"{sku} name", "unit": unit,
                                                            "product_type": product_type, **extra}), 201)
    return {"id": uuid.UUID(body["id"]), "variant": uuid.UUID(body["variants"][0]["id"]), "sku": sku}


async def receive(c, p: dict, quantity: str, unit_cost: str, on: date, location: str = "RM-WH") -> dict:
    return await ok(await c.post("/api/v1/stock-movements", json={
        "kind": "IN", "variant_id": str(p["variant"]), "quantity": quantity, "unit_cost": unit_cost,
        "to_location": location, "posting_date": on.isoformat()}), 201)


def machine(session: AsyncSession, code: str, machine_type: str, rate: str, basis: str = "hour") -> Machine:
    m = Machine(code=code, name=f"{code} name", machine_type=machine_type, overhead_rate=D(rate),
                overhead_basis=basis)
    session.add(m)
    return m


def operator(session: AsyncSession, code: str) -> Operator:
    o = Operator(code=code, name=f"Operator {code}")
    session.add(o)
    return o


def piece_rate(session: AsyncSession, stage: str, rate: str, valid_from: date, product_id=None) -> PieceRate:
    r = PieceRate(stage=stage, rate=D(rate), valid_from=valid_from, product_id=product_id)
    session.add(r)
    return r


def bom(session: AsyncSession, p: dict, stage: str, lines, *, output_quantity: str = "1", scrap: str = "0",
        max_regrind: str | None = None) -> Bom:
    """A default BOM of `p`; lines: (component, quantity[, is_regrind])."""
    b = Bom(product_id=p["id"], version=1, stage=stage, output_quantity=D(output_quantity),
            expected_scrap_pct=D(scrap), max_regrind_pct=D(max_regrind) if max_regrind is not None else None,
            is_active=True, is_default=True)
    b.lines = [BomLine(line_no=n, variant_id=comp["variant"], quantity=D(q), is_regrind=bool(rest and rest[0]))
               for n, (comp, q, *rest) in enumerate(lines, 1)]
    session.add(b)
    return b


def route(session: AsyncSession, code: str, p: dict, steps) -> Route:
    """A default route of `p`; steps: (stage, output product, bom, machine)."""
    r = Route(code=code, name=f"{code} route", product_id=p["id"], is_active=True, is_default=True)
    r.steps = [RouteStep(seq=n, stage=stage, output_variant_id=out["variant"], bom_id=b.id, std_rate=D(100),
                         machines=[RouteStepMachine(machine_id=m.id)] if m is not None else [])
               for n, (stage, out, b, m) in enumerate(steps, 1)]
    session.add(r)
    return r


async def tb(c, on: date) -> dict[str, D]:
    t = await ok(await c.get("/api/v1/reports/trial-balance", params={"date_to": on.isoformat()}))
    assert t["total_debit"] == t["total_credit"], (on, t["total_debit"], t["total_credit"])
    return {row["code"]: D(row["balance"]) for row in t["rows"]}


async def wip(c, on: date) -> D:
    return D((await ok(await c.get("/api/v1/production-wip", params={"as_of": on.isoformat()})))["wip"])


async def ledger_ties(c, on: date) -> dict[str, D]:
    """GL(1141..1144 as of `on`) == stock valuation by account + {1142: WIP of the orders}; GL balanced.
    Returns the trial balance."""
    balances = await tb(c, on)
    v = await ok(await c.get("/api/v1/stock/valuation", params={"as_of": on.isoformat()}))
    expected = {code: D(v["by_account"].get(code, "0")) for code in INVENTORY}
    expected["1142"] += await wip(c, on)
    assert {code: balances.get(code, D(0)) for code in INVENTORY} == expected, on
    return balances


async def order(c, order_id) -> dict:
    return await ok(await c.get(f"{ORDERS}/{order_id}"))


async def act(c, order_id, action: str, body: dict | None = None, status: int = 200) -> dict:
    return await ok(await c.post(f"{ORDERS}/{order_id}/{action}", json=body), status)


async def small_plant(c, session: AsyncSession, on: date) -> dict:
    """Tape from resin (0.8) and regrind (0.2, at most 20 %), an extruder at 10 000 an hour, piece rate 100
    a kg; a standard-cost sack (1 000 a piece) from 0.05 kg of tape; daun scrap at 2 000 a kg.
    Stock on `on`: resin 1 000 kg at 10 000, regrind 100 kg at 4 000, tape 10 kg at 9 000 (RM-WH)."""
    p = {
        "res": await product(c, "RESIN", "raw_material"),
        "reg": await product(c, "REGRIND", "scrap"),
        "daun": await product(c, "DAUN", "scrap", standard_cost="2000"),
        "tape": await product(c, "TAPE", "intermediate"),
        "sack": await product(c, "SACK", "finished_good", unit="PCS", costing_method="standard",
                              standard_cost="1000"),
    }
    await receive(c, p["res"], "1000", "10000", on)
    await receive(c, p["reg"], "100", "4000", on)
    await receive(c, p["tape"], "10", "9000", on)
    ext = machine(session, "EXT-1", "extruder", "10000")
    sew = machine(session, "SEW-1", "cutting_sewing", "8000")
    piece_rate(session, "extrusion", "100", date(2026, 1, 1))
    piece_rate(session, "cutting_sewing", "10", date(2026, 1, 1))
    bom(session, p["tape"], "extrusion", [(p["res"], "0.8"), (p["reg"], "0.2", True)], max_regrind="20")
    bom(session, p["sack"], "cutting_sewing", [(p["tape"], "0.05")])
    await session.commit()
    return {**p, "ext": str(ext.id), "sew": str(sew.id)}


async def released(c, sku: str, quantity: str, **extra) -> dict:
    """A standalone order, released."""
    o = await ok(await c.post(ORDERS, json={"sku": sku, "quantity": quantity, **extra}), 201)
    return await act(c, o["id"], "release")


# -- for the security sweeps (tests/security) ----------------------------------------------------------------

ORDERS_TABLES = ("production_runs", "production_orders", "production_order_materials", "production_issues",
                 "production_executions", "production_costs", "lot_consumptions")


async def orders_records(client, location: str, tag: str = "PERM-PO") -> dict[str, str]:
    """A draft run (one-step route), a released order with material issued and an output recorded (today),
    at `location` (id or code); the path parameter name -> id (helper keys start with '_')."""

    async def post(path, body=None, status=(200, 201)):
        r = await client.post(path, json=body)
        assert r.status_code in status, (path, r.status_code, r.text)
        return r.json()

    for sku, ptype in ((f"{tag}-RES", "raw_material"), (f"{tag}-OUT", "intermediate"), (f"{tag}-SCRAP", "scrap")):
        await post("/api/v1/products", {"sku": sku, "name": f"{tag} secret {ptype}", "product_type": ptype,
                                        "unit": "KG"})
    await post("/api/v1/stock-movements", {"kind": "IN", "sku": f"{tag}-RES", "quantity": "50", "unit_cost": "1000",
                                           "to_location": location})
    await post("/api/v1/boms", {"sku": f"{tag}-OUT", "stage": "extrusion",
                                "lines": [{"sku": f"{tag}-RES", "quantity": "1"}]})
    await post("/api/v1/routes", {"code": f"{tag}-RT", "name": f"{tag} route", "sku": f"{tag}-OUT", "steps": [
        {"seq": 10, "stage": "extrusion", "sku": f"{tag}-OUT", "std_rate": "100"}]})
    where = {"source_location": location, "output_location": location}
    run = await post(RUNS, {"sku": f"{tag}-OUT", "quantity": "5", "note": f"{tag} secret run", **where})
    order = await post(ORDERS, {"sku": f"{tag}-OUT", "quantity": "10", "stage": "extrusion", **where})
    await post(f"{ORDERS}/{order['id']}/release")
    await post(f"{ORDERS}/{order['id']}/issue", {"lines": [{"sku": f"{tag}-RES", "quantity": "5"}]})
    execution = await post(f"{ORDERS}/{order['id']}/output", {"quantity": "4"})
    return {"production_run_id": run["id"], "production_order_id": order["id"], "execution_id": execution["id"],
            "_tag": tag, "_location": location}


def orders_bodies(ids: dict[str, str]) -> dict[tuple[str, str], dict]:
    """Valid bodies of the production run/order routes (a refused request would really have changed something)."""
    tag, where = ids["_tag"], {"source_location": ids["_location"], "output_location": ids["_location"]}
    return {
        ("POST", RUNS): {"sku": f"{tag}-OUT", "quantity": "1", **where},
        ("POST", ORDERS): {"sku": f"{tag}-OUT", "quantity": "1", "stage": "extrusion", **where},
        ("POST", ORDERS + "/{production_order_id}/issue"): {"lines": [{"sku": f"{tag}-RES", "quantity": "0.5"}]},
        ("POST", ORDERS + "/{production_order_id}/return"): {"lines": [{"sku": f"{tag}-RES", "quantity": "0.1"}]},
        ("POST", ORDERS + "/{production_order_id}/output"): {"quantity": "0.5"},
        ("POST", ORDERS + "/{production_order_id}/scrap"): {"scrap_sku": f"{tag}-SCRAP", "scrap_kind": "daun",
                                                           "quantity": "0.1"},
        ("POST", "/api/v1/production-executions/{execution_id}/void"): {"reason": "perm"},
    }


ORDERS_IDOR_BODIES = {
    ("POST", ORDERS + "/{production_order_id}/issue"): {"lines": [{"sku": "HIJACK", "quantity": "1"}]},
    ("POST", ORDERS + "/{production_order_id}/return"): {"lines": [{"sku": "HIJACK", "quantity": "1"}]},
    ("POST", ORDERS + "/{production_order_id}/output"): {"quantity": "1"},
    ("POST", ORDERS + "/{production_order_id}/scrap"): {"scrap_sku": "HIJACK", "scrap_kind": "daun",
                                                       "quantity": "1"},
    ("POST", "/api/v1/production-executions/{execution_id}/void"): {"reason": "hijacked"},
}


def orders_paths(ids: dict[str, str]) -> list[str]:
    """The reads of those records (for before/after snapshots)."""
    return [f"{RUNS}/{ids['production_run_id']}", f"{ORDERS}/{ids['production_order_id']}",
            f"/api/v1/production-executions/{ids['execution_id']}", RUNS, ORDERS, "/api/v1/production-wip"]
