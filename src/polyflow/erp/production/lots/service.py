"""Lots: supplier lots from purchase receipts, opening lots, the lot list and detail, and traceability
both ways. Quality inspections live in `inspections.py` beside this file.

A lot is a claim on stock, not stock: the stock ledger stays per variant and location (inventory owns
it); a lot says which part of it came from where, and `remaining` falls as orders consume it (the
orders package writes lot_consumptions). Supplier lots are numbered `LT-<year>-<n>` (gap-free per year,
from accounting's document counters); the supplier's own number is kept in `supplier_lot_no`."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.accounting import service as accounting
from polyflow.erp.inventory import service as inventory
from polyflow.erp.models import GoodsReceipt, Lot
from polyflow.erp.production.lots import repository
from polyflow.erp.production.lots.schemas import (
    ConsumptionOut, ExecutionOrigin, InspectionOut, LotDetail, LotOut, OpeningLotIn, ReceiptOrigin, Ref, TraceLot,
    TraceNode, TraceOrder, TraceOut,
)
from polyflow.kit.errors import Conflict, InvalidInput, NotFound
from polyflow.kit.money import quantity_text as _qty

LOT_DOC = "LT"
accounting.DOC_TYPES.setdefault(LOT_DOC, "lot (supplier or opening)")
# How far a trace walks: steps of lot -> order -> lot ..., so 40 steps are 20 production stages.
MAX_TRACE_DEPTH = 40


async def next_lot_number(session: AsyncSession, on: date) -> str:
    """`LT-2026-000123`: gap-free per year (the counter row stays locked until the transaction ends)."""
    # accounting writes `LT/2026/00123`; lot labels use dashes and six digits (printed on sacks and labels).
    _, year, n = (await accounting.next_document_number(session, LOT_DOC, on)).split("/")
    return f"{LOT_DOC}-{year}-{int(n):06d}"


async def register_supplier_lots(session: AsyncSession, receipt: GoodsReceipt) -> list[Lot]:
    """A `supplier` lot for each line of a posted goods receipt that carries the supplier's lot number, in
    the receipt's transaction (purchasing calls this after flushing the receipt and its lines)."""
    lots = []
    for line in receipt.lines:
        if not (line.lot_number or "").strip():
            continue
        lots.append(Lot(
            number=await next_lot_number(session, receipt.receipt_date), kind="supplier", status="available",
            variant_id=line.variant_id, location_id=receipt.location_id, quantity=line.quantity,
            remaining=line.quantity, supplier_lot_no=line.lot_number.strip(), partner_id=receipt.partner_id,
            goods_receipt_line_id=line.id, produced_on=receipt.receipt_date, attributes={}))
    if lots:
        session.add_all(lots)
        await session.flush()
    return lots


async def create_opening_lot(session: AsyncSession, data: OpeningLotIn) -> LotDetail:
    """Record a lot for stock already at a location (taken on with its lot number); moves no stock. 409 when
    the location holds less of the variant than the lot claims, or the number is taken."""
    variant = await repository.variant(session, variant_id=data.variant_id, sku=data.sku)
    if variant is None:
        raise InvalidInput(f"unknown variant '{data.variant_id or data.sku}'")
    location = await repository.location(session, data.location)
    if location is None:
        raise InvalidInput(f"unknown location '{data.location}'")
    if data.partner_id is not None and await repository.partner(session, data.partner_id) is None:
        raise InvalidInput(f"unknown partner '{data.partner_id}'")
    levels, _ = await inventory.list_levels(session, variant_id=variant.id, location_id=location.id, product_id=None,
                                            q=None, nonzero=False, sort="sku", limit=1, offset=0)
    on_hand = levels[0].on_hand if levels else Decimal(0)
    if data.quantity > on_hand:
        raise Conflict(f"{location.code} holds {_qty(on_hand)} of {variant.sku}, less than the lot's "
                       f"{_qty(data.quantity)}: receive or count the stock first")
    # Lots already there (received, produced or taken on) claim part of that stock: a new lot may claim only
    # the rest, or a trace would follow more kilos than the location ever held.
    claimed = await repository.claimed_in_lots(session, variant.id, location.id)
    if data.quantity > on_hand - claimed:
        raise Conflict(f"{location.code} holds {_qty(on_hand)} of {variant.sku}, {_qty(claimed)} of it already in "
                       f"lots: a new lot may claim at most {_qty(max(on_hand - claimed, Decimal(0)))}")
    on = data.produced_on or await accounting.local_today(session)
    number = data.number.upper() if data.number else await next_lot_number(session, on)
    if data.number and await repository.lot_number_taken(session, number):
        raise Conflict(f"lot number {number} is already used")
    net = data.gross_weight - (data.core_weight or 0) if data.gross_weight is not None else None
    lot = Lot(number=number, kind=data.kind, status="available", variant_id=variant.id, location_id=location.id,
              quantity=data.quantity, remaining=data.quantity, gross_weight=data.gross_weight,
              core_weight=data.core_weight, net_weight=net, pieces=data.pieces, supplier_lot_no=data.supplier_lot_no,
              partner_id=data.partner_id, produced_on=data.produced_on, attributes={**data.attributes, "opening": True},
              note=data.note)
    session.add(lot)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise Conflict(f"lot number {number} is already used") from None
    return await get_lot(session, lot.id)


# -- reads -----------------------------------------------------------------------------------------------


def _lot_out(lot: Lot, sku: str | None, code: str | None) -> dict:
    out = LotOut.model_validate(lot).model_dump()
    out.update(sku=sku, location_code=code)
    return out


async def list_lots(session: AsyncSession, *, location: str | None = None, limit: int, offset: int, **filters):
    """Lots, newest first, filtered by variant/SKU, kind, status, supplier lot, location, production dates."""
    location_id = None
    if location is not None:
        found = await repository.location(session, location)
        if found is None:
            raise InvalidInput(f"unknown location '{location}'")
        location_id = found.id
    start, end = filters.get("produced_from"), filters.get("produced_to")
    if start and end and start > end:
        raise InvalidInput("produced_from is after produced_to")
    rows, total = await repository.list_lots(session, location_id=location_id, limit=limit, offset=offset, **filters)
    return [_lot_out(lot, sku, code) for lot, sku, code in rows], total


async def get_lot_row(session: AsyncSession, lot_id: uuid.UUID, *, lock: bool = False) -> Lot:
    lot = await repository.lot(session, lot_id, lock=lock)
    if lot is None:
        raise NotFound("lot not found")
    return lot


def _ref(id_, code, name) -> Ref | None:
    return Ref(id=id_, code=code, name=name) if id_ is not None else None


def inspection_out(inspection, lot_number: str | None, movement_kind: str | None) -> InspectionOut:
    """An inspection with what it did to the stock (from its movement's kind)."""
    action = {("quarantine", "TRANSFER"): "quarantined", ("pass", "TRANSFER"): "released",
              ("fail", "OUT"): "scrapped", ("fail", "TRANSFER"): "quarantined_for_regrind"}.get(
        (inspection.result, movement_kind), "rejected" if inspection.result == "fail" else "recorded")
    out = InspectionOut.model_validate(inspection)
    return out.model_copy(update={"lot_number": lot_number, "action": action})


async def get_lot(session: AsyncSession, lot_id: uuid.UUID) -> LotDetail:
    """One lot with its origin (receipt, or execution with order/machine/operator/shift), its consumption by
    orders and its inspections."""
    lot = await get_lot_row(session, lot_id)
    sku, code = await repository.sku_and_code(session, lot)
    detail = LotDetail(**_lot_out(lot, sku, code))
    if lot.goods_receipt_line_id is not None:
        found = await repository.receipt_origin(session, lot.goods_receipt_line_id)
        if found is not None:
            receipt, line, partner = found
            detail.receipt = ReceiptOrigin(
                goods_receipt_id=receipt.id, goods_receipt_number=receipt.number, receipt_date=receipt.receipt_date,
                goods_receipt_line_id=line.id, purchase_order_id=receipt.order_id,
                partner=Ref(id=partner.id, code=partner.code, name=partner.name))
    if lot.execution_id is not None:
        found = await repository.execution_origin(session, lot.execution_id)
        if found is not None:
            x, order, machine, operator, shift = found
            detail.execution = ExecutionOrigin(
                execution_id=x.id, execution_number=x.number, execution_status=x.status, work_date=x.work_date,
                order_id=order.id, order_number=order.number, stage=order.stage,
                machine=_ref(machine.id, machine.code, machine.name) if machine else None,
                operator=_ref(operator.id, operator.code, operator.name) if operator else None,
                shift=_ref(shift.id, shift.code, shift.name) if shift else None)
    detail.consumptions = [
        ConsumptionOut(id=c.id, order_id=c.order_id, order_number=number, stage=stage, issue_id=c.issue_id,
                       quantity=c.quantity, consumed_on=c.consumed_on)
        for c, number, stage in await repository.consumptions(session, lot.id)]
    detail.inspections = [inspection_out(i, lot.number, kind)
                          for i, _, kind in await repository.inspections_of(session, lot.id)]
    return detail


# -- traceability ----------------------------------------------------------------------------------------


def _node(r) -> TraceNode:
    lot = order = None
    if r["kind"] == "lot":
        execution = None
        if r["execution_id"] is not None:
            execution = ExecutionOrigin(
                execution_id=r["execution_id"], execution_number=r["execution_number"],
                execution_status=r["execution_status"], work_date=r["work_date"], order_id=r["x_order_id"],
                order_number=r["x_order_number"], stage=r["x_stage"],
                machine=_ref(r["machine_id"], r["machine_code"], r["machine_name"]),
                operator=_ref(r["operator_id"], r["operator_code"], r["operator_name"]),
                shift=_ref(r["shift_id"], r["shift_code"], r["shift_name"]))
        lot = TraceLot(
            number=r["lot_number"], kind=r["lot_kind"], status=r["lot_status"], variant_id=r["lot_variant_id"],
            sku=r["lot_sku"], quantity=r["lot_quantity"], remaining=r["lot_remaining"],
            location_code=r["location_code"], produced_on=r["produced_on"], supplier_lot_no=r["supplier_lot_no"],
            supplier=_ref(r["partner_id"], r["partner_code"], r["partner_name"]),
            goods_receipt_number=r["receipt_number"], execution=execution)
    else:
        order = TraceOrder(
            number=r["order_number"], stage=r["order_stage"], status=r["order_status"],
            variant_id=r["order_variant_id"], sku=r["order_sku"], quantity=r["order_quantity"],
            input_order_id=r["input_order_id"],
            machine=_ref(r["order_machine_id"], r["order_machine_code"], r["order_machine_name"]))
    return TraceNode(depth=r["depth"], kind=r["kind"], id=r["id"], parent_kind=r["parent_kind"],
                     parent_id=r["parent_id"], link=r["link"], quantity=r["quantity"], lot=lot, order=order)


async def trace(session: AsyncSession, lot_id: uuid.UUID, direction: str = "both",
                max_depth: int = MAX_TRACE_DEPTH) -> TraceOut:
    """Where a lot came from (back: the orders, machines, operators, shifts and lots down to the supplier
    lots) and/or where it went (forward: every order that took it and every lot made from it), as flat
    lists of nodes with depth and parent; one recursive query per direction."""
    await get_lot_row(session, lot_id)
    if not 1 <= max_depth <= MAX_TRACE_DEPTH:
        raise InvalidInput(f"max_depth must be between 1 and {MAX_TRACE_DEPTH}")
    out = TraceOut(lot_id=lot_id, direction=direction, max_depth=max_depth)
    for way in (("back", "forward") if direction == "both" else (direction,)):
        rows = await repository.trace(session, lot_id, way, max_depth)
        # The walk goes one step further than asked: rows there only say that the chain goes on.
        if any(r["depth"] > max_depth for r in rows):
            out.truncated = True
        setattr(out, way, [_node(r) for r in rows if r["depth"] <= max_depth])
    return out
