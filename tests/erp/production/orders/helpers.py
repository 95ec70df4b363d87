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
