"""Toll order rules under pressure: two consumptions racing for the last kilos (one 409, the order's row
lock serialises them), and another tenant neither reads nor acts on a toll order."""

import asyncio
import uuid
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.toll import service
from polyflow.erp.toll.schemas import ConsumeIn, MoveLineIn
from polyflow.kit.errors import Conflict
from tests.erp.sales.helpers import customer, ok, product
from tests.erp.toll.helpers import confirmed_order, moves, order_body


def _consume(variant_id: str, quantity: str) -> ConsumeIn:
    return ConsumeIn(move_date=date(2026, 11, 11), consumed=[MoveLineIn(variant_id=uuid.UUID(variant_id),
                                                                        quantity=Decimal(quantity))])


async def test_two_consumptions_of_the_last_kilos_one_is_refused(make_tenant, live, tenant_engine):
    tenant = await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        resin = await product(c, "PP-R", "Customer resin", "KG")
        cust = await customer(c, "C-R")
        order = await confirmed_order(c, cust, resin, resin, "2026-11-09")
        oid = order["id"]
        await ok(await c.post(f"/api/v1/toll-orders/{oid}/receive", json=moves(resin, "100", "2026-11-10")))

        # Over HTTP at once: 100 on hand, two times 60 -> one 200, one 409 (on hand 40 after the first).
        body = {"move_date": "2026-11-11", "consumed": [{"variant_id": resin, "quantity": "60"}]}
        answers = await asyncio.gather(*(c.post(f"/api/v1/toll-orders/{oid}/consume", json=body) for _ in range(2)))
        assert sorted(r.status_code for r in answers) == [200, 409], [r.text for r in answers]
        refused = next(r for r in answers if r.status_code == 409)
        assert "received 100, consumed 60, returned leftover 0, scrap 0: on hand 40" in refused.json()["detail"]

    # Step by step: the first holds the order's row until it commits; the second waits, then sees its move.
    engine = tenant_engine(tenant)
    async with AsyncSession(engine) as first, AsyncSession(engine) as second:
        await service.consume(first, uuid.UUID(oid), _consume(resin, "30"), None)  # 40 -> 10, not committed
        racing = asyncio.create_task(service.consume(second, uuid.UUID(oid), _consume(resin, "30"), None))
        await asyncio.sleep(0.5)
        assert not racing.done()  # blocked on the row lock, not reading a stale balance
        await first.commit()
        with pytest.raises(Conflict) as refused:
            await racing
        assert "consumed 90, returned leftover 0, scrap 0: on hand 10" in refused.value.message
        await second.rollback()

    async with live.tenant_client("pt-abc") as c:
        balance = await ok(await c.get(f"/api/v1/toll-orders/{oid}/balance", params={"as_of": "2026-11-30"}))
        assert (balance["rows"][0]["consumed"], balance["rows"][0]["on_hand"]) == ("90.000", "10.000")


async def test_another_tenant_cannot_read_or_act_on_a_toll_order(make_tenant, live):
    await make_tenant("pt-abc")
    await make_tenant("pt-xyz")
    async with live.tenant_client("pt-abc") as abc, live.tenant_client("pt-xyz") as xyz:
        resin = await product(abc, "PP-ABC", "ABC secret resin", "KG")
        cust = await customer(abc, "C-ABC")
        order = await confirmed_order(abc, cust, resin, resin, "2026-11-09")
        oid = order["id"]
        await ok(await abc.post(f"/api/v1/toll-orders/{oid}/receive", json=moves(resin, "100", "2026-11-10")))
        before = await ok(await abc.get(f"/api/v1/toll-orders/{oid}"))

        xyz_resin = await product(xyz, "PP-XYZ", "XYZ resin", "KG")
        xyz_cust = await customer(xyz, "C-XYZ")
        assert (await xyz.get(f"/api/v1/toll-orders/{oid}")).status_code == 404
        assert (await xyz.get(f"/api/v1/toll-orders/{oid}/balance")).status_code == 404
        for action, body in (("receive", moves(xyz_resin, "1", "2026-11-10")),
                             ("consume", {"move_date": "2026-11-10", "consumed": [{"variant_id": resin,
                                                                                   "quantity": "1"}]}),
                             ("deliver", moves(resin, "1", "2026-11-10")),
                             ("return-leftover", moves(resin, "100", "2026-11-10")),
                             ("complete", None), ("cancel", None), ("confirm", None),
                             ("invoice", {"invoice_date": "2026-11-10"})):
            r = await xyz.post(f"/api/v1/toll-orders/{oid}/{action}", json=body)
            assert r.status_code == 404 and "ABC secret" not in r.text, (action, r.status_code, r.text)
        r = await xyz.put(f"/api/v1/toll-orders/{oid}", json=order_body(xyz_cust, xyz_resin, xyz_resin, "2026-11-09"))
        assert r.status_code == 404
        assert (await xyz.delete(f"/api/v1/toll-orders/{oid}")).status_code == 404
        # pt-abc's customer and resin are unknown on pt-xyz: a toll order naming them is refused.
        r = await xyz.post("/api/v1/toll-orders", json=order_body(cust, resin, resin, "2026-11-09"))
        assert r.status_code == 422 and "unknown customer_id" in r.text
        assert (await ok(await xyz.get("/api/v1/toll-orders")))["total"] == 0
        assert (await ok(await xyz.get("/api/v1/reports/toll-material", params={"as_of": "2026-11-30"})))[
            "customers"] == []

        assert await ok(await abc.get(f"/api/v1/toll-orders/{oid}")) == before
        report = await ok(await abc.get("/api/v1/reports/toll-material", params={"as_of": "2026-11-30"}))
        assert report["customers"][0]["rows"][0]["on_hand"] == "100.000"


async def test_only_production_may_act_and_a_service_invoice_takes_no_return(make_tenant, live):
    """A salesperson (no production permission) cannot touch toll orders; the fee's sales invoice has no
    delivery, so a sales return against it is refused."""
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c, live.tenant_client("pt-abc", role="sales") as sales, \
            live.tenant_client("pt-abc", role="production") as floor:
        await ok(await c.post("/api/v1/locations", json={"code": "WH", "name": "Gudang"}), 201)
        resin = await product(c, "PP-S", "Customer resin", "KG")
        cust = await customer(c, "C-S")
        assert (await sales.get("/api/v1/toll-orders")).status_code == 403
        r = await sales.post("/api/v1/toll-orders", json=order_body(cust, resin, resin, "2026-11-09"))
        assert r.status_code == 403
        order = await confirmed_order(floor, cust, resin, resin, "2026-11-09")
        oid = order["id"]
        for action, body in (("receive", moves(resin, "10", "2026-11-10")),
                             ("consume", {"move_date": "2026-11-10", "consumed": [{"variant_id": resin,
                                                                                   "quantity": "10"}],
                                          "produced": [{"variant_id": resin, "quantity": "9"}]}),
                             ("deliver", moves(resin, "9", "2026-11-10")), ("complete", None),
                             ("invoice", {"invoice_date": "2026-11-10"})):
            await ok(await floor.post(f"/api/v1/toll-orders/{oid}/{action}", json=body))
        order = await ok(await floor.get(f"/api/v1/toll-orders/{oid}"))
        r = await c.post("/api/v1/sales-returns", json={
            "invoice_id": order["sales_invoice_id"], "return_date": "2026-11-11", "location": "WH",
            "lines": [{"delivery_line_id": str(uuid.uuid4()), "quantity": "1"}]})
        assert r.status_code == 422 and "not a posted delivery line" in r.text


async def test_a_toll_order_without_a_fee_is_refused_before_it_can_get_stuck(make_tenant, live):
    """A zero fee gives an invoice of 0 with no journal to post: such an order, once completed, could
    neither be invoiced nor cancelled. It is refused when written."""
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        resin = await product(c, "PP-FREE", "Customer resin", "KG")
        cust = await customer(c, "C-FREE")
        r = await c.post("/api/v1/toll-orders", json=order_body(cust, resin, resin, "2026-11-09", fee_price="0"))
        assert r.status_code == 422 and "fee_price" in r.text, r.text
        assert (await ok(await c.get("/api/v1/toll-orders")))["items"] == []
