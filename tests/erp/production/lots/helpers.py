"""Lots test helpers: a supplier receipt with lot numbers (through the real purchasing API), a three-level
production chain over it, and the records and bodies the security sweeps (tests/security) need.

The production side (floor master data, orders, material issues, executions, output lots, lot
consumptions) is written as ORM rows the way erp/production/orders' service writes them, because that
service was not in the tree when this was written (test_trace_orders.py goes through it): issues and
outputs move stock through the real inventory API, and the rows point at those movements."""

from __future__ import annotations

import uuid
from datetime import time
from decimal import Decimal as D

from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.accounting.service import today
from polyflow.erp.models import (
    Execution, Lot, LotConsumption, Machine, MaterialIssue, Operator, ProductionOrder, ProductionRun, ProductVariant,
    Route, Shift,
)

LOTS_TABLES = ("lots", "lot_consumptions", "inspections")
NO_ID = "00000000-0000-4000-8000-000000000000"


async def _post(c, path, body, status=(200, 201)):
    r = await c.post(path, json=body)
    assert r.status_code in status, (path, r.status_code, r.text)
    return r.json()


async def product(c, sku: str, ptype: str, unit: str = "KG") -> dict:
    """A product of one variant; its variant."""
    return (await _post(c, "/api/v1/products", {"sku": sku, "name": f"{sku} product", "unit": unit,
                                                "product_type": ptype}))["variants"][0]


async def receive_with_lots(c, lines: list[tuple[str, str, str, str | None]], tag: str = "T",
                            location: str = "RM-WH") -> dict:
    """A supplier, an approved order and one receipt of `lines` = (variant id, quantity, unit price, supplier
    lot number or None); returns the receipt."""
    supplier = await _post(c, "/api/v1/partners", {"code": f"{tag}-SUP", "name": f"{tag} Resin Supplier",
                                                   "is_supplier": True})
    order = await _post(c, "/api/v1/purchase-orders", {"partner_id": supplier["id"], "lines": [
        {"variant_id": v, "quantity": q, "unit_price": p} for v, q, p, _ in lines]})
    order = await _post(c, f"/api/v1/purchase-orders/{order['id']}/approve", {})
    receipt = await _post(c, "/api/v1/goods-receipts", {"order_id": order["id"], "location": location, "lines": [
        {"order_line_id": ol["id"], "quantity": q, **({"lot_number": lot} if lot else {})}
        for ol, (_, q, _, lot) in zip(order["lines"], lines)]})
    receipt["_supplier"] = supplier
    return receipt


async def lot_of_line(c, line_id: str) -> dict | None:
    """The lot made from a receipt line (by listing), or None."""
    for item in (await c.get("/api/v1/lots", params={"limit": 200})).json()["items"]:
        if item["goods_receipt_line_id"] == line_id:
            return item
    return None


async def _move(c, body) -> dict:
    return await _post(c, "/api/v1/stock-movements", body)


async def build_chain(c, engine, tag: str = "T") -> dict:
    """Create the chain on a tenant (client `c` signed in with production and purchasing rights, `engine` on
    its database); returns the ids by name (lots: lot_a, lot_b, batch, tape, bale; orders, machines, ...)."""
    on = today()
    resin_a = await product(c, f"{tag}-PP-A", "raw_material")
    resin_b = await product(c, f"{tag}-MB-B", "raw_material")
    mix = await product(c, f"{tag}-MIX", "intermediate")
    tape = await product(c, f"{tag}-TAPE", "intermediate")
    bag = await product(c, f"{tag}-BAG", "finished_good")
    receipt = await receive_with_lots(c, [(resin_a["id"], "100", "20000", f"{tag}-SUPLOT-A"),
                                          (resin_b["id"], "10", "50000", f"{tag}-SUPLOT-B")], tag)
    lot_a = await lot_of_line(c, receipt["lines"][0]["id"])
    lot_b = await lot_of_line(c, receipt["lines"][1]["id"])
    assert lot_a and lot_b

    # Stock moves where the orders' service moves it: issues OUT of RM-WH, outputs IN to the next area. Their
    # reasons are not `production` (only an order may post against 1142: inventory refuses a bare one); the
    # trace reads the rows, not the accounts.
    issue_a = await _move(c, {"kind": "OUT", "reason": "consumption", "variant_id": resin_a["id"], "quantity": "60",
                              "from_location": "RM-WH", "reference": f"{tag}-SPK-1"})
    issue_b = await _move(c, {"kind": "OUT", "reason": "consumption", "variant_id": resin_b["id"], "quantity": "4",
                              "from_location": "RM-WH", "reference": f"{tag}-SPK-1"})
    out_mix = await _move(c, {"kind": "IN", "reason": "opening", "variant_id": mix["id"], "quantity": "64",
                              "to_location": "MIXING", "unit_cost": "21875", "reference": f"{tag}-SPK-1"})
    issue_mix = await _move(c, {"kind": "OUT", "reason": "consumption", "variant_id": mix["id"], "quantity": "64",
                                "from_location": "MIXING", "reference": f"{tag}-SPK-2"})
    out_tape = await _move(c, {"kind": "IN", "reason": "opening", "variant_id": tape["id"], "quantity": "62",
                               "to_location": "EXTRUSION", "unit_cost": "23000", "reference": f"{tag}-SPK-2"})
    out_bale = await _move(c, {"kind": "IN", "reason": "opening", "variant_id": bag["id"], "quantity": "60",
                               "to_location": "FG-WH", "unit_cost": "24500", "reference": f"{tag}-SPK-3"})

    locations = {loc["code"]: uuid.UUID(loc["id"])
                 for loc in (await c.get("/api/v1/locations", params={"limit": 200})).json()["items"]}
    u = uuid.UUID
    async with AsyncSession(engine, expire_on_commit=False) as s:
        mixer = Machine(code=f"{tag}-MIX-1", name="Mixer 1", machine_type="mixer")
        extruder = Machine(code=f"{tag}-EXT-1", name="Extruder 1", machine_type="extruder")
        packer = Machine(code=f"{tag}-BAL-1", name="Baler 1", machine_type="packer")
        pagi = Shift(code=f"{tag}-PAGI", name="Pagi", starts_at=time(7), ends_at=time(15))
        siang = Shift(code=f"{tag}-SIANG", name="Siang", starts_at=time(15), ends_at=time(23))
        budi = Operator(code=f"{tag}-OP1", name="Budi")
        sari = Operator(code=f"{tag}-OP2", name="Sari")
        joko = Operator(code=f"{tag}-OP3", name="Joko")
        s.add_all([mixer, extruder, packer, pagi, siang, budi, sari, joko])
        await s.flush()

        # The three orders are the steps of one run (input_order_id links the steps of a run).
        bag_product = (await s.get(ProductVariant, u(bag["id"]))).product_id
        route = Route(code=f"{tag}-ROUTE", name="Bag route", product_id=bag_product, is_active=True, is_default=True)
        s.add(route)
        await s.flush()
        run = ProductionRun(number=f"{tag}-PRN-1", status="in_progress", variant_id=u(bag["id"]), route_id=route.id,
                            quantity=D(60))
        s.add(run)
        await s.flush()

        def order(n, stage, variant, qty, src, dst, machine, input_order=None):
            return ProductionOrder(number=f"{tag}-SPK-{n}", status="in_progress", stage=stage, variant_id=u(variant),
                                   quantity=D(qty), source_location_id=locations[src],
                                   output_location_id=locations[dst], machine_id=machine.id, run_id=run.id,
                                   step_seq=n, input_order_id=input_order.id if input_order else None)

        o_mix = order(1, "mixing", mix["id"], "64", "RM-WH", "MIXING", mixer)
        s.add(o_mix)
        await s.flush()
        o_ext = order(2, "extrusion", tape["id"], "62", "MIXING", "EXTRUSION", extruder, o_mix)
        s.add(o_ext)
        await s.flush()
        o_bal = order(3, "packing", bag["id"], "60", "EXTRUSION", "FG-WH", packer, o_ext)
        s.add(o_bal)
        await s.flush()

        def issue(o, variant, qty, src, movement, lot):
            return MaterialIssue(order_id=o.id, variant_id=u(variant), location_id=locations[src], quantity=D(qty),
                                 movement_id=u(movement["id"]), lot_id=lot.id if lot else None, issued_on=on)

        def execution(n, o, variant, qty, machine, operator, shift, movement):
            return Execution(number=f"{tag}-PEX-{n}", order_id=o.id, kind="output", variant_id=u(variant),
                             machine_id=machine.id, operator_id=operator.id, shift_id=shift.id, work_date=on,
                             quantity=D(qty), movement_id=u(movement["id"]))

        la = await s.get(Lot, u(lot_a["id"]))
        lb = await s.get(Lot, u(lot_b["id"]))
        ia = issue(o_mix, resin_a["id"], "60", "RM-WH", issue_a, la)
        ib = issue(o_mix, resin_b["id"], "4", "RM-WH", issue_b, lb)
        x_mix = execution(1, o_mix, mix["id"], "64", mixer, budi, pagi, out_mix)
        x_tape = execution(2, o_ext, tape["id"], "62", extruder, sari, siang, out_tape)
        x_bale = execution(3, o_bal, bag["id"], "60", packer, joko, pagi, out_bale)
        s.add_all([ia, ib, x_mix, x_tape, x_bale])
        await s.flush()
        batch = Lot(number=f"{tag}-BT-1", kind="batch", variant_id=u(mix["id"]), location_id=locations["MIXING"],
                    quantity=D("64"), remaining=D("64"), execution_id=x_mix.id, produced_on=on)
        roll = Lot(number=f"{tag}-RL-1", kind="roll", variant_id=u(tape["id"]), location_id=locations["EXTRUSION"],
                   quantity=D("62"), remaining=D("62"), gross_weight=D("64.5"), core_weight=D("2.5"),
                   net_weight=D("62"), execution_id=x_tape.id, produced_on=on)
        bale = Lot(number=f"{tag}-BL-1", kind="bale", variant_id=u(bag["id"]), location_id=locations["FG-WH"],
                   quantity=D("60"), remaining=D("60"), pieces=500, execution_id=x_bale.id, produced_on=on)
        s.add_all([batch, roll, bale])
        await s.flush()
        for x, lot in ((x_mix, batch), (x_tape, roll), (x_bale, bale)):
            x.lot_id = lot.id
        i_mix = issue(o_ext, mix["id"], "64", "MIXING", issue_mix, batch)
        s.add(i_mix)
        await s.flush()
        # What the orders' issue writes per named lot: a consumption row and the lot's remaining.
        s.add_all([LotConsumption(lot_id=la.id, order_id=o_mix.id, issue_id=ia.id, quantity=D("60"), consumed_on=on),
                   LotConsumption(lot_id=lb.id, order_id=o_mix.id, issue_id=ib.id, quantity=D("4"), consumed_on=on),
                   LotConsumption(lot_id=batch.id, order_id=o_ext.id, issue_id=i_mix.id, quantity=D("64"),
                                  consumed_on=on)])
        la.remaining, lb.remaining = la.remaining - 60, lb.remaining - 4
        batch.remaining, batch.status = D(0), "consumed"
        await s.commit()
        return {"lot_a": la.id, "lot_b": lb.id, "batch": batch.id, "tape": roll.id, "bale": bale.id,
                "o_mix": o_mix.id, "o_ext": o_ext.id, "o_bal": o_bal.id, "x_mix": x_mix.id, "x_tape": x_tape.id,
                "x_bale": x_bale.id, "mixer": mixer.id, "extruder": extruder.id, "packer": packer.id,
                "budi": budi.id, "sari": sari.id, "joko": joko.id, "pagi": pagi.id, "siang": siang.id,
                "receipt": receipt, "resin_a": resin_a, "resin_b": resin_b, "bag": bag}


# -- security sweeps ------------------------------------------------------------------------------------------


async def lots_records(client, variant_id: str, location: str, tag: str = "PERM") -> dict[str, str]:
    """An opening lot of `variant_id` at `location` (which must hold at least 2 of it) and a passing
    inspection of it; the path parameter name -> id."""
    lot = await _post(client, "/api/v1/lots", {"variant_id": variant_id, "location": location, "quantity": "2",
                                               "supplier_lot_no": f"{tag}-SECRET-LOT"})
    inspection = await _post(client, "/api/v1/inspections", {"lot_id": lot["id"], "result": "pass",
                                                             "inspector": f"{tag} inspector"})
    return {"lot_id": lot["id"], "inspection_id": inspection["id"]}


def lots_bodies(ids: dict[str, str]) -> dict[tuple[str, str], dict]:
    """Valid bodies for the lots routes that take one (a refused request would have changed something)."""
    return {
        ("POST", "/api/v1/lots"): {"variant_id": ids["variant_id"], "location": ids["location_id"], "quantity": "1"},
        ("POST", "/api/v1/inspections"): {"lot_id": ids["lot_id"], "result": "pass", "inspector": "perm"},
    }


def lots_paths(ids: dict[str, str]) -> list[str]:
    """What a tenant's owner reads of its lots (for before/after snapshots)."""
    return [f"/api/v1/lots/{ids['lot_id']}", f"/api/v1/lots/{ids['lot_id']}/trace",
            f"/api/v1/inspections/{ids['inspection_id']}", "/api/v1/lots", "/api/v1/inspections"]
