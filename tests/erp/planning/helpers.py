"""Shared setup of the MRP tests and the security sweeps: products, stock, BOMs, a run with proposals."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.models import Bom, BomLine, Product

MRP_TABLES = ("mrp_runs", "mrp_proposals")
NO_ID = "00000000-0000-4000-8000-000000000000"


async def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, (response.status_code, response.text)
    return response.json()


async def product(c, sku: str, unit: str, product_type: str, **extra) -> str:
    """A product; its default variant's id."""
    body = {"sku": sku, "name": sku.title(), "unit": unit, "product_type": product_type, **extra}
    return (await ok(await c.post("/api/v1/products", json=body), 201))["variants"][0]["id"]


async def receive(c, variant_id: str, quantity: str, location: str, unit_cost: str = "1000") -> None:
    await ok(await c.post("/api/v1/stock-movements", json={
        "kind": "IN", "variant_id": variant_id, "quantity": quantity, "unit_cost": unit_cost,
        "to_location": location}), 201)


async def make_bom(engine, product_sku: str, stage: str, output_quantity: str, scrap_pct: str,
                   lines: list[tuple[str, str]]) -> uuid.UUID:
    """A default BOM written on the tenant's database (the BOM screens belong to the floor module; MRP only
    reads BOMs). `lines`: (component variant id, quantity per output_quantity)."""
    async with AsyncSession(engine) as session, session.begin():
        product_id = await session.scalar(select(Product.id).where(Product.sku == product_sku))
        bom = Bom(product_id=product_id, version=1, stage=stage, output_quantity=Decimal(output_quantity),
                  expected_scrap_pct=Decimal(scrap_pct), is_active=True, is_default=True,
                  lines=[BomLine(line_no=n, variant_id=uuid.UUID(v), quantity=Decimal(q))
                         for n, (v, q) in enumerate(lines, 1)])
        session.add(bom)
        await session.flush()
        return bom.id


async def mrp_records(client, tag: str = "PERM") -> dict[str, str]:
    """A bought raw material below its reorder point and an MRP run proposing to buy it: the path parameter
    name -> id ({run_id}, {proposal_id})."""
    await product(client, f"{tag}-MRP-RM", "KG", "raw_material", min_stock="5", reorder_qty="10")
    run = await ok(await client.post("/api/v1/mrp/run", json={}), 201)
    proposal = next(p for p in run["proposals"] if p["sku"] == f"{tag}-MRP-RM")
    return {"run_id": run["id"], "proposal_id": proposal["id"]}


def mrp_bodies(ids: dict[str, str]) -> dict[tuple[str, str], dict]:
    """Valid bodies of the MRP routes (a refused request would really have changed something)."""
    return {("POST", "/api/v1/mrp/run"): {"horizon_days": 30},
            ("POST", "/api/v1/mrp/runs/{run_id}/approve"): {"proposal_ids": [ids["proposal_id"]]}}


# Bodies for the cross-tenant sweep: valid in shape, so that a 404 is about the id in the path.
IDOR_BODIES = {("POST", "/api/v1/mrp/runs/{run_id}/approve"): {"proposal_ids": [NO_ID]}}
