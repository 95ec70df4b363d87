"""Two backflushed outputs racing for the last material of an order: one is recorded, the other gets a clear
409 and leaves nothing behind; and another tenant cannot read or act on the orders."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from decimal import Decimal as D

from sqlalchemy.ext.asyncio import AsyncSession

from tests.erp.production.orders.helpers import (
    ORDERS, RUNS, act, bom, ledger_ties, ok, order, product, receive, released, route, wip,
)
from tests.fixtures.auth import make_user

D0, D1 = date(2026, 11, 2), date(2026, 11, 3)


async def test_two_backflushes_racing_for_the_last_material(make_tenant, live, tenant_engine):
    tenant = await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as owner, \
            AsyncSession(tenant_engine(tenant), expire_on_commit=False) as session:
        res = await product(owner, "RACE-RES", "raw_material")
        tape = await product(owner, "RACE-TAPE", "intermediate")
        await receive(owner, res, "40", "1000", D0)
        bom(session, tape, "extrusion", [(res, "1")])
        await session.commit()
    async with live.tenant_client("pt-abc", role="production") as a, \
            live.tenant_client("pt-abc", role="production") as b, live.tenant_client("pt-abc") as owner:
        o = await released(a, "RACE-TAPE", "80")
        assert o["materials"][0]["reserved_qty"] == "40.000"
        body = {"quantity": "40", "backflush": True, "work_date": D1.isoformat()}
        r1, r2 = await asyncio.gather(a.post(f"{ORDERS}/{o['id']}/output", json=body),
                                      b.post(f"{ORDERS}/{o['id']}/output", json=body))
        assert sorted((r1.status_code, r2.status_code)) == [201, 409], (r1.text, r2.text)
        lost = r1 if r1.status_code == 409 else r2
        assert "insufficient stock of RACE-RES" in lost.json()["detail"]
        o = await order(a, o["id"])
        # One output of 40 at 40 x 1 000 = 40 000; nothing of the refused one (no execution, issue or lot).
        assert o["qty_output"] == "40.000" and len(o["executions"]) == 1
        assert o["materials"][0]["issued_qty"] == "40.000" and o["materials"][0]["reserved_qty"] == "0.000"
        assert o["executions"][0]["value"] == "40000.00" and await wip(owner, D1) == 0
        stock = await ok(await owner.get("/api/v1/stock", params={"variant_id": str(res["variant"])}))
        assert [(row["on_hand"], row["reserved"]) for row in stock["items"]] == [("0.000", "0.000")]
        await ledger_ties(owner, D1)


async def test_another_tenant_cannot_read_or_act_on_the_orders(make_tenant, live, tenant_engine):
    tenant = await make_tenant("pt-abc")
    await make_tenant("pt-xyz")
    async with live.tenant_client("pt-abc") as owner, \
            AsyncSession(tenant_engine(tenant), expire_on_commit=False) as session:
        res = await product(owner, "ABC-RES", "raw_material")
        tape = await product(owner, "ABC-TAPE", "intermediate")
        await receive(owner, res, "100", "1000", D0)
        b = bom(session, tape, "extrusion", [(res, "1")])
        await session.flush()
        route(session, "R-ABC", tape, [("extrusion", tape, b, None)])
        await session.commit()
        run = await ok(await owner.post(RUNS, json={"sku": "ABC-TAPE", "quantity": "5"}), 201)
        o = await released(owner, "ABC-TAPE", "10")
        e = await act(owner, o["id"], "output", {"quantity": "5", "backflush": True, "work_date": D1.isoformat()},
                      201)
        before = await order(owner, o["id"])
    xyz = make_user(live.settings, "pt-xyz", ["owner"])
    async with live.client(f"pt-xyz.{live.settings.root_domain}",
                           headers={"Authorization": f"Bearer {xyz['token']}"}) as c:
        assert (await ok(await c.get(ORDERS)))["total"] == 0
        assert (await ok(await c.get(RUNS)))["total"] == 0
        for method, path, body in [
            ("GET", f"{ORDERS}/{o['id']}", None), ("GET", f"{RUNS}/{run['id']}", None),
            ("GET", f"/api/v1/production-executions/{e['id']}", None),
            ("POST", f"{ORDERS}/{o['id']}/issue", {"lines": [{"sku": "ABC-RES", "quantity": "1"}]}),
            ("POST", f"{ORDERS}/{o['id']}/output", {"quantity": "1"}),
            ("POST", f"{ORDERS}/{o['id']}/close", None), ("POST", f"{ORDERS}/{o['id']}/cancel", None),
            ("POST", f"{ORDERS}/{o['id']}/release", None), ("POST", f"{RUNS}/{run['id']}/release", None),
            ("POST", f"{RUNS}/{run['id']}/cancel", None),
            ("POST", f"/api/v1/production-executions/{e['id']}/void", {"reason": "x"}),
        ]:
            r = await c.request(method, path, json=body)
            assert r.status_code == 404, (method, path, r.status_code, r.text)
            assert "ABC-" not in r.text
        assert D((await ok(await c.get("/api/v1/production-wip")))["wip"]) == 0
    async with live.tenant_client("pt-abc") as owner:
        after = await order(owner, o["id"])
        assert after == before and uuid.UUID(after["id"])
