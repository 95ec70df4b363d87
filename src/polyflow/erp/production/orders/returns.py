"""Unused material returned from the floor to the warehouse (leftover resin, a half bag of masterbatch), under
the order's row lock, so leftovers leave WIP as stock rather than as variance at close.

What one return writes, per line:
  -> IN reason `production` into the order's source location at the order's average issued cost of that
     variant (net value issued / net quantity issued, from the issue movements' values now): Dr stock /
     Cr 1142, so the WIP gives up what that much issue put in on average
  -> a MaterialIssue with a negative quantity, OrderMaterial.issued_qty reduced (close then counts the net)
  -> with lots: a negative LotConsumption per lot, its remaining back (consumed -> available again)
  -> a `material` cost row pointing at the movement (WIP change = -movement.value).
Locks as every other action: run row, order row, the variants by id, then the lots by id.
Stock moves only through inventory.create_movement."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.accounting import service as accounting
from polyflow.erp.catalog import service as catalog
from polyflow.erp.inventory import reads as stock_reads
from polyflow.erp.inventory import service as inventory
from polyflow.erp.inventory.schemas import MovementIn
from polyflow.erp.models import Lot, LotConsumption, MaterialIssue, ProductionCost, ProductionOrder, ProductVariant
from polyflow.erp.production.orders import costing, repository
from polyflow.erp.production.orders.schemas import ReturnIn
from polyflow.erp.production.orders.service import label, lock_order, require, variant_of
from polyflow.kit.errors import Conflict, InvalidInput
from polyflow.kit.money import quantity_text as _q


def returnable(days: list[tuple[date, Decimal]], on: date) -> Decimal:
    """What may come back on `on`: the least net issued quantity as of `on` and as of every later day with
    issues or returns (a backdated return must not leave the order owing material at any date after it)."""
    running, before, least = Decimal(0), Decimal(0), None
    for day, qty in days:
        running += qty
        if day <= on:
            before = running
        else:
            least = running if least is None else min(least, running)
    return before if least is None else min(before, least)


async def _lots_back(session: AsyncSession, n: int, order: ProductionOrder, variant: ProductVariant,
                     qty: Decimal, picks) -> list[tuple[Lot, Decimal]]:
    """The named lots (locked by id), each getting back at most what it gave this order."""
    if not picks:
        return []
    if sum((p.quantity for p in picks), Decimal(0)) != qty:
        raise InvalidInput(f"line {n}: the lots' quantities must add up to the line's {_q(qty)} "
                           f"{variant.product.unit}")
    if len({p.lot_id for p in picks}) != len(picks):
        raise InvalidInput(f"line {n}: a lot appears twice")
    found = await repository.lots_for_update(session, [p.lot_id for p in picks])
    given = await repository.lots_given(session, order.id, found)
    out = []
    for p in picks:
        lot = found.get(p.lot_id)
        if lot is None:
            raise InvalidInput(f"line {n}: unknown lot '{p.lot_id}'")
        if lot.variant_id != variant.id:
            raise InvalidInput(f"line {n}: lot {lot.number} is not {variant.sku}")
        gave = given.get(lot.id, Decimal(0))
        if p.quantity > gave:
            raise Conflict(f"line {n}: lot {lot.number} gave production order {label(order)} {_q(gave)} "
                           f"{variant.product.unit} (net); it cannot get {_q(p.quantity)} back")
        if lot.status not in ("available", "consumed", "rejected"):
            raise Conflict(f"line {n}: lot {lot.number} is {lot.status}: nothing can be returned to it")
        if lot.location_id is not None and lot.location_id != order.source_location_id:
            raise Conflict(f"line {n}: lot {lot.number} is no longer at the order's source location")
        out.append((lot, p.quantity))
    return out


async def return_material(session: AsyncSession, order_id: uuid.UUID, data: ReturnIn,
                          user_id: uuid.UUID | None) -> ProductionOrder:
    """Return unused material from an in-progress order to its source location (IN production at the
    order's average issued cost, Dr stock / Cr 1142); more than the order has net issued is a 409."""
    order = await lock_order(session, order_id)
    require(order, "return")
    on = data.date or await accounting.local_today(session)
    lines = []
    seen: set[uuid.UUID] = set()
    for n, line in enumerate(data.lines, 1):
        variant = await variant_of(session, line.variant_id, line.sku, f"material on line {n}")
        factor = await catalog.unit_factor(session, variant.product, line.unit, label=variant.sku)
        qty = costing.qty(line.quantity * factor)
        if qty <= 0:
            raise InvalidInput(f"line {n}: quantity is too small for the unit")
        if variant.id in seen:
            raise InvalidInput(f"line {n}: {variant.sku} appears twice; give it once with the total")
        seen.add(variant.id)
        lines.append((n, variant, qty, line.lots))
    await stock_reads.lock_variants(session, seen)  # by id, before the lots (as an issue does)
    issued = await repository.issued(session, order.id)  # the issue movements' values now, under the locks
    src = await repository.location_by_id(session, order.source_location_id)
    materials = {m.variant_id: m for m in order.materials}
    for n, variant, qty, picks in lines:
        unit = variant.product.unit
        net_qty, net_value = issued.get(variant.id, (Decimal(0), Decimal(0)))
        most = returnable(await repository.issued_by_day(session, order.id, variant.id), on)
        if qty > most:
            when = f" as of {on} and after" if most != net_qty else ""
            raise Conflict(f"line {n}: cannot return {_q(qty)} {unit} of {variant.sku}: production order "
                           f"{label(order)} has {_q(max(most, Decimal(0)))} {unit} net issued{when}")
        lots = await _lots_back(session, n, order, variant, qty, picks)
        unit_cost = costing.average(net_value, net_qty)
        note = f"return from {label(order)}" + (f": {data.note}" if data.note else "")
        movement = await inventory.create_movement(session, MovementIn(
            kind="IN", variant_id=variant.id, quantity=qty, to_location=str(src.id), unit_cost=unit_cost,
            reason="production", reference=order.number, posting_date=on, note=note[:500]), user_id=user_id,
            may_choose_account=False)
        back = MaterialIssue(order_id=order.id, variant_id=variant.id, location_id=src.id, quantity=-qty,
                             movement_id=movement.id, issued_on=on, created_by=user_id,
                             lot_id=lots[0][0].id if len(lots) == 1 else None)
        session.add(back)
        await session.flush()
        for lot, lot_qty in lots:
            session.add(LotConsumption(lot_id=lot.id, order_id=order.id, issue_id=back.id, quantity=-lot_qty,
                                       consumed_on=on))
            lot.remaining += lot_qty
            if lot.status == "consumed":
                # A lot a granulator took from quarantine was rejected goods: it goes back as such.
                lot.status = "rejected" if src.kind == "quarantine" else "available"
        materials[variant.id].issued_qty -= qty
        session.add(ProductionCost(order_id=order.id, posting_date=on, kind="material", movement_id=movement.id,
                                   memo=f"return {variant.sku} {_q(qty)}"[:200]))
    await session.flush()
    return order
