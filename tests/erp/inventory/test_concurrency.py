"""50 concurrent stock-outs against stock for 20: exactly 20 succeed, stock ends at 0, never negative;
the same over real HTTP and over 50 concurrent database sessions."""

import asyncio
from decimal import Decimal as D

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.inventory import service
from polyflow.erp.inventory.schemas import MovementIn
from polyflow.kit.errors import Conflict


async def _stock_20(c):
    await c.post("/api/v1/products", json={"sku": "RAF-1200", "name": "Raffia 1200 D", "unit": "ROLL",
                                           "product_type": "intermediate"})
    r = await c.post("/api/v1/stock-movements", json={"kind": "IN", "sku": "RAF-1200", "quantity": "20",
                                                      "to_location": "EXTRUSION", "unit_cost": "150000"})
    assert r.status_code == 201, r.text


async def test_50_concurrent_stock_outs_over_http(make_tenant, settings, make_live):
    await make_tenant("pt-abc")
    # Room for all 50 at once: this is about stock under concurrency, not the per-tenant request cap.
    live = make_live(settings.model_copy(update={"tenant_max_inflight": 64, "tenant_queue_size": 64}))
    async with live.tenant_client("pt-abc") as c:
        await _stock_20(c)
        body = {"kind": "OUT", "sku": "RAF-1200", "quantity": "1", "from_location": "EXTRUSION"}
        results = await asyncio.gather(*(c.post("/api/v1/stock-movements", json=body) for _ in range(50)))
        codes = [r.status_code for r in results]
        assert codes.count(201) == 20 and codes.count(409) == 30, codes
        assert all("insufficient stock of RAF-1200 at EXTRUSION: available 0" in r.json()["detail"]
                   for r in results if r.status_code == 409)
        level = (await c.get("/api/v1/stock", params={"q": "RAF-1200"})).json()["items"][0]
        assert D(level["on_hand"]) == 0
        numbers = sorted(r.json()["number"] for r in results if r.status_code == 201)
        assert numbers == [f"GI/{numbers[0][3:7]}/{n:05d}" for n in range(1, 21)]
        val = (await c.get("/api/v1/stock/valuation")).json()
        assert D(val["total_value"]) == 0


async def test_50_concurrent_sessions(make_tenant, live, tenant_engine):
    tenant = await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        await _stock_20(c)
    engine = tenant_engine(tenant, pool_size=50)
    lowest = []

    async def one():
        async with AsyncSession(engine, expire_on_commit=False) as session:
            try:
                async with session.begin():
                    await service.create_movement(session, MovementIn(kind="OUT", sku="RAF-1200", quantity=D(1),
                                                                      from_location="EXTRUSION"))
                    lowest.append((await session.execute(text("SELECT min(on_hand) FROM stock_levels"))).scalar_one())
                return True
            except Conflict:
                return False

    outcomes = await asyncio.gather(*(one() for _ in range(50)))
    assert outcomes.count(True) == 20
    assert min(lowest) >= 0
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT on_hand FROM stock_levels"))).scalar_one() == 0
        assert (await conn.execute(text("SELECT qty_total, stock_value FROM product_variants"))).one() == (0, 0)
        assert (await conn.execute(text("SELECT count(*) FROM journal_entries WHERE doc_type = 'GI'"))).scalar_one() == 20
