"""Voiding a shop-floor execution, under the order's row lock: its output (lot unconsumed) or scrap leaves
stock again, its conversion journal is reversed, backflushed materials come back at their issue cost; the
execution stays, marked voided. Stock moves only through inventory.create_movement, journals only through
accounting.post_journal."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.accounting import service as accounting
from polyflow.erp.inventory import reads as stock_reads
from polyflow.erp.inventory import service as inventory
from polyflow.erp.inventory.schemas import MovementIn
from polyflow.erp.models import Execution, MaterialIssue, ProductionCost
from polyflow.erp.production.orders import costing, repository
from polyflow.erp.production.orders.executions import conversion_lines
from polyflow.erp.production.orders.returns import returnable
from polyflow.erp.production.orders.schemas import VoidIn
from polyflow.erp.production.orders.service import lock_order, require
from polyflow.kit.errors import Conflict, InvalidInput, NotFound


async def void_execution(session: AsyncSession, execution_id: uuid.UUID, data: VoidIn,
                         user_id: uuid.UUID | None) -> Execution:
    """Reverse an execution: its output (lot unconsumed) or scrap leaves stock again (OUT production at the
    moving average; a difference stays in WIP until close), its conversion journal is reversed by an
    opposite PEX journal, backflushed materials come back at their issue cost."""
    found = await repository.execution(session, execution_id)
    if found is None:
        raise NotFound("production execution not found")
    order = await lock_order(session, found.order_id)
    execution = await repository.execution(session, execution_id, lock=True)
    if execution.status == "voided":
        raise Conflict(f"execution {execution.number} is already voided")
    if order.status != "in_progress":
        require(order, "void")
    on = data.date or await accounting.local_today(session)
    if on < execution.work_date:
        raise InvalidInput(f"void date {on} is before the execution's work date {execution.work_date}")
    flushed = await repository.backflushed(session, execution.id)
    await stock_reads.lock_variants(session, [execution.variant_id, *(i.variant_id for i, _ in flushed)])
    flushed = await repository.backflushed(session, execution.id)  # their values as of now, under the locks
    for issue, _value in flushed:
        # Material returned since is no longer in the order: bringing it back again would create stock.
        have = returnable(await repository.issued_by_day(session, order.id, issue.variant_id), on)
        if have < issue.quantity:
            sku = (await repository.variants(session, [issue.variant_id]))[issue.variant_id].sku
            raise Conflict(f"{execution.number} backflushed {issue.quantity.normalize():f} of {sku} but production "
                           f"order {order.number} has {max(have, Decimal(0)).normalize():f} net issued as of {on} "
                           f"and after (returned since): issue it again before voiding")
    lot = await repository.lot(session, execution.lot_id, lock=True) if execution.lot_id else None
    if lot is not None and (lot.remaining != lot.quantity or lot.status not in ("available", "quarantine")):
        raise Conflict(f"lot {lot.number} of {execution.number} is {lot.status} with {lot.remaining.normalize():f} "
                       f"of {lot.quantity.normalize():f} left: consumed output cannot be voided")
    origin = await inventory.get_movement(session, execution.movement_id)
    where = lot.location_id if lot is not None and lot.location_id else origin.to_location_id
    movement = await inventory.create_movement(session, MovementIn(
        kind="OUT", variant_id=execution.variant_id, quantity=execution.quantity, from_location=str(where),
        reason="production", reference=order.number, posting_date=on, note=f"void {execution.number}"),
        user_id=user_id, may_choose_account=False, from_quarantine=True)  # undoes the output, quarantined or not
    session.add(ProductionCost(order_id=order.id, posting_date=on, kind=execution.kind, movement_id=movement.id,
                               execution_id=execution.id, memo=f"void {execution.number}"))
    labour, overhead = execution.labour_amount, execution.overhead_amount
    if labour or overhead:
        entry = await accounting.post_journal(
            session, doc_type="PEX", entry_date=on, source="production", reference=execution.number,
            description=f"Void of {execution.number}: {data.reason}"[:500],
            lines=conversion_lines(labour, overhead, reverse=True), created_by=user_id)
        for kind, amount in (("labour", labour), ("overhead", overhead)):
            if amount:
                session.add(ProductionCost(order_id=order.id, posting_date=on, kind=kind, amount=-amount,
                                           journal_entry_id=entry.id, execution_id=execution.id,
                                           memo=f"void {execution.number}"))
    for issue, value in flushed:
        unit_cost = costing.cost(-value / issue.quantity)
        back = await inventory.create_movement(session, MovementIn(
            kind="IN", variant_id=issue.variant_id, quantity=issue.quantity, to_location=str(issue.location_id),
            unit_cost=unit_cost, reason="production", reference=order.number, posting_date=on,
            note=f"back from void {execution.number}"), user_id=user_id, may_choose_account=False)
        session.add(MaterialIssue(order_id=order.id, variant_id=issue.variant_id, location_id=issue.location_id,
                                  quantity=-issue.quantity, movement_id=back.id, execution_id=execution.id,
                                  issued_on=on, created_by=user_id))
        session.add(ProductionCost(order_id=order.id, posting_date=on, kind="material", movement_id=back.id,
                                   execution_id=execution.id, memo=f"void {execution.number}"))
        for m in order.materials:
            if m.variant_id == issue.variant_id:
                m.issued_qty -= issue.quantity
    if lot is not None:
        lot.status, lot.remaining = "voided", Decimal(0)
    if execution.kind == "output":
        order.qty_output -= execution.quantity
    else:
        order.qty_scrap -= execution.quantity
    execution.status, execution.voided_at = "voided", datetime.now(timezone.utc)
    execution.voided_by, execution.void_reason = user_id, data.reason
    await session.flush()
    return execution
