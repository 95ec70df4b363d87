"""Stock counts (stock opname): snapshot -> blind entries -> submit -> variances -> approve (adjustments) or
cancel. One function per transition; each refuses the others with the actions allowed (409).

Counted against the snapshot, not frozen: the location keeps receiving and issuing while a count is open.
The snapshot records each variant's book quantity there and a watermark (the highest stock movement seq
it includes; inventory holds new movements for the instant it is read, so no lower seq commits later).
At approval, under the variants' row locks:
    expected   = snapshot qty + net movements of the variant at the location with seq > watermark
    adjustment = counted - expected
i.e. what was counted is taken as the stock after every movement booked up to the approval: the floor
counts a pallet after it has moved, or books the move before the count is approved.
Each non-zero adjustment is one ADJUSTMENT movement, reason `count` (Dr/Cr 5400 against the inventory
account), through inventory.create_movement, dated the approval date, reference = the count's number,
all in the approval's one transaction. Found stock (a variant the snapshot did not list) gets a line
whose snapshot quantity is its book quantity there as of the watermark (0 unless a filter left it out)."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.accounting import service as accounting
from polyflow.erp.catalog import service as catalog
from polyflow.erp.inventory import reads as stock_reads
from polyflow.erp.inventory import service as inventory
from polyflow.erp.inventory.schemas import MovementIn
from polyflow.erp.models import StockCount, StockCountEntry, StockCountLine
from polyflow.erp.stockcount import repository
from polyflow.erp.stockcount.schemas import (
    ApproveIn, CancelIn, CountLineOut, EntryIn, StockCountIn, StockCountOut, StockCountSummary, VarianceRow,
    Variances,
)
from polyflow.kit.errors import Conflict, InvalidInput, NotFound
from polyflow.kit.money import money
from polyflow.kit.money import quantity_text as _q

QTY = Decimal("0.001")
COST = Decimal("0.0001")
DOC_TYPE = "OPN"  # "SO" is the sales order's
accounting.DOC_TYPES.setdefault(DOC_TYPE, "stock count (stock opname)")

# What each state allows; approved and cancelled are final.
ALLOWED = {"open": ["entries", "submit", "cancel"], "counted": ["approve", "cancel"], "approved": [],
           "cancelled": []}


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _refuse(count: StockCount, action: str) -> None:
    if action not in ALLOWED[count.status]:
        allowed = ", ".join(ALLOWED[count.status]) or "none, it is final"
        raise Conflict(f"stock count {count.number} is {count.status}: cannot {action} it (allowed: {allowed})")


async def _count(session: AsyncSession, count_id: uuid.UUID, *, for_update: bool = False) -> StockCount:
    count = await repository.get_count(session, count_id, for_update=for_update)
    if count is None:
        raise NotFound("stock count not found")
    return count


# -- create ------------------------------------------------------------------------------------------------


async def create_count(session: AsyncSession, data: StockCountIn, user_id: uuid.UUID | None) -> StockCount:
    """Open a count of a location: snapshot lines (book quantity and unit cost) and the watermark."""
    location = await repository.location(session, data.location)
    if location is None:
        raise InvalidInput(f"unknown location '{data.location}'")
    if not location.is_active:
        raise InvalidInput(f"location {location.code} is inactive")
    today = await accounting.local_today(session)
    count_date = data.count_date or today
    if count_date > today:
        raise InvalidInput(f"count_date {count_date} is in the future (today is {today})")
    variant_ids = list(dict.fromkeys(data.variant_ids)) if data.variant_ids else None
    if variant_ids:
        unknown = set(variant_ids) - await repository.existing_variant_ids(session, variant_ids)
        if unknown:
            raise InvalidInput(f"unknown variant(s): {', '.join(sorted(map(str, unknown))[:10])}")
    # The snapshot holds new movements until this transaction commits: keep the rest short.
    watermark, rows = await stock_reads.location_snapshot(session, location.id, variant_ids=variant_ids,
                                                        product_type=data.product_type)
    busy = await repository.active_count_at(session, location.id)
    if busy:
        raise Conflict(f"stock count {busy} of {location.code} is still under way: approve or cancel it first")
    count = StockCount(
        number=await accounting.next_document_number(session, DOC_TYPE, count_date), status="open",
        location_id=location.id, count_date=count_date, note=data.note, product_type=data.product_type,
        watermark=watermark, created_by=user_id,
        lines=[StockCountLine(variant_id=r.variant_id, sku=r.sku, in_snapshot=True, snapshot_qty=r.on_hand,
                              snapshot_unit_cost=r.unit_cost) for r in rows])
    session.add(count)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:  # a count of the location opened at the same instant
        raise Conflict(f"another stock count of {location.code} is under way: approve or cancel it first") from None
    await session.refresh(count)
    return count


# -- entries, submit, cancel -------------------------------------------------------------------------------


async def add_entries(session: AsyncSession, count_id: uuid.UUID, entries: list[EntryIn],
                      user_id: uuid.UUID | None) -> StockCount:
    """Record tallies (summed per variant); a variant the snapshot did not list becomes a found-stock line."""
    count = await _count(session, count_id, for_update=True)
    _refuse(count, "entries")
    lines = {line.variant_id: line for line in count.lines}
    by_id, by_sku = await repository.variants_by_refs(session, [e.variant_id for e in entries if e.variant_id],
                                                      [e.sku for e in entries if e.sku])
    for entry in entries:
        variant = by_id.get(entry.variant_id) if entry.variant_id else by_sku.get(entry.sku)
        if variant is None:
            raise InvalidInput(f"unknown variant '{entry.variant_id or entry.sku}'")
        if variant.product.product_type == "service":
            raise InvalidInput(f"{variant.sku} is a service: it has no stock to count")
        # Any unit the product converts from (a bale = N bags, a roll = its kg): catalog owns the factors.
        factor = await catalog.unit_factor(session, variant.product, entry.unit, label=variant.sku)
        qty = (entry.counted_qty * factor).quantize(QTY)
        line = lines.get(variant.id)
        if line is None:
            line = await _found_line(session, count, variant)
            count.lines.append(line)
            lines[variant.id] = line
            await session.flush()
        line.counted_qty = (line.counted_qty or Decimal(0)) + qty
        session.add(StockCountEntry(count_id=count.id, line_id=line.id, quantity=qty, entered_qty=entry.counted_qty,
                                    unit=(entry.unit or variant.product.unit).upper(), counted_by=entry.counted_by,
                                    note=entry.note, user_id=user_id))
    await session.flush()
    return count


async def _found_line(session: AsyncSession, count: StockCount, variant) -> StockCountLine:
    # Its book quantity at the location as of the watermark: every movement up to it has committed.
    booked = await stock_reads.location_changes(session, count.location_id, [variant.id], through_seq=count.watermark)
    price = variant.buy_price if variant.buy_price is not None else variant.product.buy_price
    cost = variant.avg_cost if variant.qty_total > 0 else (price or Decimal(0))
    return StockCountLine(count_id=count.id, variant_id=variant.id, sku=variant.sku, in_snapshot=False,
                          snapshot_qty=booked.get(variant.id, Decimal(0)),
                          snapshot_unit_cost=Decimal(cost).quantize(COST))


async def submit_count(session: AsyncSession, count_id: uuid.UUID, user_id: uuid.UUID | None) -> StockCount:
    """Close counting (open -> counted): expected quantities and variances become visible."""
    count = await _count(session, count_id, for_update=True)
    _refuse(count, "submit")
    if not any(line.counted_qty is not None for line in count.lines):
        raise Conflict(f"nothing has been counted on {count.number} yet: record entries first, or cancel it")
    count.status, count.submitted_at, count.submitted_by = "counted", _now(), user_id
    await session.flush()
    return count


async def cancel_count(session: AsyncSession, count_id: uuid.UUID, data: CancelIn,
                       user_id: uuid.UUID | None) -> StockCount:
    """Cancel a count before approval (open or counted): nothing is posted."""
    count = await _count(session, count_id, for_update=True)
    _refuse(count, "cancel")
    count.status, count.cancelled_at, count.cancelled_by = "cancelled", _now(), user_id
    count.cancel_reason = data.reason
    await session.flush()
    return count


# -- variances and approval --------------------------------------------------------------------------------


def _unit_cost(variant, fallback: Decimal) -> Decimal:
    """The moving average now, else the buy price, else the snapshot's cost."""
    if variant.qty_total > 0:
        return variant.avg_cost
    price = variant.buy_price if variant.buy_price is not None else variant.product.buy_price
    return Decimal(price).quantize(COST) if price is not None else fallback


async def variances(session: AsyncSession, count_id: uuid.UUID) -> Variances:
    """Variance quantity and value per line (counted or approved counts; while open the count is blind)."""
    count = await _count(session, count_id)
    if count.status not in ("counted", "approved"):
        raise Conflict(f"stock count {count.number} is {count.status}: variances are shown once it is submitted"
                       if count.status == "open" else f"stock count {count.number} is cancelled: it has no variances")
    rows, total = [], Decimal("0.00")
    if count.status == "approved":
        for line in count.lines:
            counted = line.counted_qty if line.counted_qty is not None else (
                Decimal(0) if count.zero_uncounted else None)
            cost = (abs(line.adjustment_value) / abs(line.adjustment_qty)).quantize(COST) \
                if line.adjustment_qty else line.snapshot_unit_cost
            rows.append(VarianceRow(variant_id=line.variant_id, sku=line.sku, in_snapshot=line.in_snapshot,
                                    snapshot_qty=line.snapshot_qty, moved_since=line.expected_qty - line.snapshot_qty,
                                    expected_qty=line.expected_qty, counted_qty=counted,
                                    variance_qty=line.adjustment_qty, unit_cost=cost,
                                    variance_value=line.adjustment_value))
            total += line.adjustment_value or 0
    else:
        ids = [line.variant_id for line in count.lines]
        moved = await stock_reads.location_changes(session, count.location_id, ids, after_seq=count.watermark)
        variants = await repository.variants_by_ids(session, ids)
        for line in count.lines:
            expected = line.snapshot_qty + moved.get(line.variant_id, Decimal(0))
            cost = _unit_cost(variants[line.variant_id], line.snapshot_unit_cost)
            variance = None if line.counted_qty is None else line.counted_qty - expected
            value = None if variance is None else money(variance * cost)
            rows.append(VarianceRow(variant_id=line.variant_id, sku=line.sku, in_snapshot=line.in_snapshot,
                                    snapshot_qty=line.snapshot_qty, moved_since=moved.get(line.variant_id, Decimal(0)),
                                    expected_qty=expected, counted_qty=line.counted_qty, variance_qty=variance,
                                    unit_cost=cost, variance_value=value))
            total += value or 0
    return Variances(count_id=count.id, number=count.number, status=count.status, rows=rows,
                     uncounted=[line.sku for line in count.lines if line.counted_qty is None], total_value=total)


async def approve_count(session: AsyncSession, count_id: uuid.UUID, data: ApproveIn,
                        user_id: uuid.UUID | None) -> StockCount:
    """Post one ADJUSTMENT (reason count) per non-zero variance, dated today, all in one transaction."""
    count = await _count(session, count_id, for_update=True)
    _refuse(count, "approve")
    uncounted = [line.sku for line in count.lines if line.counted_qty is None]
    if uncounted and not data.zero_uncounted:
        shown = ", ".join(uncounted[:20]) + (f" and {len(uncounted) - 20} more" if len(uncounted) > 20 else "")
        raise Conflict(f"{len(uncounted)} line(s) of {count.number} were not counted: {shown}; count them, or "
                       "approve with zero_uncounted: true to book them as counted zero")
    on = await accounting.local_today(session)
    await accounting.ensure_postable(session, on, stock=True)
    location = await repository.location_code(session, count.location_id)
    # Locked first: movements of these variants under way have committed, new ones wait for this approval.
    variants = await stock_reads.lock_variants(session, [line.variant_id for line in count.lines])
    moved = await stock_reads.location_changes(session, count.location_id, list(variants), after_seq=count.watermark)
    for line in sorted(count.lines, key=lambda x: x.sku):
        line.expected_qty = line.snapshot_qty + moved.get(line.variant_id, Decimal(0))
        line.adjustment_qty = (line.counted_qty or Decimal(0)) - line.expected_qty
        line.adjustment_value = Decimal("0.00")
        if line.adjustment_qty == 0:
            continue
        variant = variants[line.variant_id]
        up = line.adjustment_qty > 0
        if up and variant.qty_total <= 0 and variant.buy_price is None and variant.product.buy_price is None:
            raise Conflict(f"{variant.sku} has no stock to take a moving average from and no buy price: set its buy "
                           f"price before approving {count.number}")
        if not up:
            # Stock held for open orders cannot be counted away: the orders would still count on it.
            on_hand, reserved = await stock_reads.level_amounts(session, count.location_id, variant.id)
            left = on_hand + line.adjustment_qty
            if left < reserved:
                raise Conflict(
                    f"approving {count.number}: {variant.sku} counted {_q(line.counted_qty or Decimal(0))} at "
                    f"{location} leaves {_q(max(left, Decimal(0)))}, but {_q(reserved)} is reserved there for open "
                    "production or sales orders; release or issue those reservations (or cancel the orders) "
                    "first, then approve")
        try:
            movement = await inventory.create_movement(session, MovementIn(
                kind="ADJUSTMENT", variant_id=variant.id, quantity=abs(line.adjustment_qty), reason="count",
                to_location=str(count.location_id) if up else None,
                from_location=None if up else str(count.location_id), reference=count.number,
                note=f"Stock count {count.number} at {location}", posting_date=on), user_id=user_id)
        except (Conflict, InvalidInput) as exc:
            raise type(exc)(f"approving {count.number}: {exc.message}") from None
        line.movement_id, line.adjustment_value = movement.id, movement.value
    count.status, count.approval_date, count.approved_at, count.approved_by = "approved", on, _now(), user_id
    count.zero_uncounted = data.zero_uncounted
    await session.flush()
    return count


# -- reads -------------------------------------------------------------------------------------------------


async def get_count(session: AsyncSession, count_id: uuid.UUID) -> StockCount:
    return await _count(session, count_id)


async def count_out(session: AsyncSession, count: StockCount) -> StockCountOut:
    """The count as the API shows it: blind (no book figures) while open."""
    blind = count.status == "open"
    entries = await repository.entry_counts(session, count.id)
    lines = []
    for line in count.lines:
        out = CountLineOut(variant_id=line.variant_id, sku=line.sku, in_snapshot=line.in_snapshot,
                           counted_qty=line.counted_qty, entries=entries.get(line.id, 0))
        if not blind:
            out = out.model_copy(update={
                "snapshot_qty": line.snapshot_qty, "snapshot_unit_cost": line.snapshot_unit_cost,
                "expected_qty": line.expected_qty, "adjustment_qty": line.adjustment_qty,
                "adjustment_value": line.adjustment_value, "movement_id": line.movement_id})
        lines.append(out)
    return StockCountOut(
        id=count.id, number=count.number, status=count.status, location_id=count.location_id,
        location_code=await repository.location_code(session, count.location_id), count_date=count.count_date,
        note=count.note, product_type=count.product_type, blind=blind, allowed_actions=ALLOWED[count.status],
        created_at=count.created_at, submitted_at=count.submitted_at, approval_date=count.approval_date,
        approved_at=count.approved_at, zero_uncounted=count.zero_uncounted, cancelled_at=count.cancelled_at,
        cancel_reason=count.cancel_reason, lines=lines)


async def list_counts(session: AsyncSession, *, status, location_id, limit: int, offset: int):
    """Counts, newest first: (summaries, total)."""
    rows, total = await repository.list_counts(session, status=status, location_id=location_id, limit=limit,
                                               offset=offset)
    return [StockCountSummary(id=c.id, number=c.number, status=c.status, location_id=c.location_id,
                              location_code=code, count_date=c.count_date, lines=n, counted_lines=k,
                              approval_date=c.approval_date) for c, code, n, k in rows], total
