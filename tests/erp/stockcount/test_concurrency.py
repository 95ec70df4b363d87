"""The snapshot's watermark is exact even with movements under way: a movement that took its seq before the
snapshot but commits after it (while a later movement has already committed) is in the snapshot, never lost
between the snapshot and the watermark."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D

from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.accounting.service import today
from polyflow.erp.inventory import service as inventory
from polyflow.erp.inventory.schemas import MovementIn
from tests.erp.stockcount.helpers import SC, move, ok, product, tb, valuation


async def test_a_movement_committing_after_the_snapshot_with_a_lower_seq_is_in_it(make_tenant, live, tenant_engine):
    tenant = await make_tenant("pt-abc")
    on = today().isoformat()
    async with live.tenant_client("pt-abc") as c:
        await product(c, "SC-X")
        await product(c, "SC-Y")
        await move(c, "IN", "SC-X", 100, to_location="RM-WH", unit_cost="1000")
        await move(c, "IN", "SC-Y", 50, to_location="RM-WH", unit_cost="2000")
        async with AsyncSession(tenant_engine(tenant), expire_on_commit=False) as t1:
            # T1: a receipt of 40 SC-X into RM-WH, written (its seq taken) but not committed.
            await inventory.create_movement(t1, MovementIn(kind="IN", sku="SC-X", quantity=D(40), to_location="RM-WH",
                                                           unit_cost=D(1000)))
            # T2: a transfer of SC-Y out of RM-WH commits meanwhile, with a higher seq.
            await move(c, "TRANSFER", "SC-Y", 10, from_location="RM-WH", to_location="MIXING")
            opening = asyncio.create_task(c.post(SC, json={"location": "RM-WH"}))
            await asyncio.sleep(0.5)
            # The snapshot waits for T1 (reading now would see T2's seq as the watermark but not T1's stock,
            # and T1's seq, below that watermark, would then never count).
            assert not opening.done()
            await t1.commit()
        count = await ok(await opening, 201)
    async with live.tenant_client("pt-abc") as c:
        await ok(await c.post(f"{SC}/{count['id']}/entries", json=[{"sku": "SC-X", "counted_qty": "140"},
                                                                   {"sku": "SC-Y", "counted_qty": "40"}]))
        count = await ok(await c.post(f"{SC}/{count['id']}/submit"))
        assert {line["sku"]: D(line["snapshot_qty"]) for line in count["lines"]} == {"SC-X": 140, "SC-Y": 40}
        count = await ok(await c.post(f"{SC}/{count['id']}/approve"))
        # Counted = book: 100 + 40 and 50 - 10, so nothing to adjust.
        assert all(D(line["adjustment_qty"]) == 0 and line["movement_id"] is None for line in count["lines"])
        # 140 x 1,000 + 50 x 2,000 (40 at RM-WH, 10 at MIXING) = 240,000.
        assert (await tb(c, on))["1141"] == D("240000") == (await valuation(c, on))["1141"]


async def test_concurrent_entries_all_count_and_a_count_is_approved_once(make_tenant, live):
    await make_tenant("pt-abc")
    on = today().isoformat()
    async with live.tenant_client("pt-abc") as c:
        await product(c, "SC-X")
        await move(c, "IN", "SC-X", 100, to_location="RM-WH", unit_cost="1000")
        count = await ok(await c.post(SC, json={"location": "RM-WH"}), 201)
        url = f"{SC}/{count['id']}"
        # Ten tablets send at once, each a pallet of 9 kg: none is lost (the count row serialises them).
        results = await asyncio.gather(*(c.post(f"{url}/entries", json=[
            {"sku": "SC-X", "counted_qty": "9", "counted_by": f"counter {i}"}]) for i in range(10)))
        assert [r.status_code for r in results] == [200] * 10
        count = await ok(await c.post(f"{url}/submit"))
        assert (D(count["lines"][0]["counted_qty"]), count["lines"][0]["entries"]) == (90, 10)
        # Two approvals at once: one posts the -10 kg adjustment, the other is a 409; one movement in all.
        first, second = await asyncio.gather(c.post(f"{url}/approve"), c.post(f"{url}/approve"))
        assert sorted([first.status_code, second.status_code]) == [200, 409]
        loser = first if first.status_code == 409 else second
        assert "is approved" in loser.json()["detail"]
        moves = await ok(await c.get("/api/v1/stock-movements", params={"q": count["number"]}))
        assert [(m["quantity"], m["value"]) for m in moves["items"]] == [("10.000", "-10000.00")]  # 10 x 1,000
        assert (await tb(c, on))["1141"] == D("90000") == (await valuation(c, on))["1141"]
