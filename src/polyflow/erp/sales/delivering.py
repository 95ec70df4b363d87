"""Deliveries (surat jalan): drafts against one confirmed order, posted into stock.

Posting, in one transaction: the order row is locked (two deliveries of one order run one after the
other, so neither can take the order past its quantities), each line's reservation is released and the
goods leave through inventory (OUT reason sale: Dr 5100 HPP / Cr inventory at moving-average cost). Two
deliveries of different orders racing for the last stock meet at inventory's variant lock and
conditional take: one wins, the other gets a 409 naming the stock available."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.accounting import service as accounting
from polyflow.erp.inventory import reads as stock_reads
from polyflow.erp.inventory import service as inventory
from polyflow.erp.inventory.schemas import MovementIn, ReservationIn
from polyflow.erp.models import Delivery, DeliveryLine, SalesOrder
from polyflow.erp.sales import common, repository
from polyflow.erp.sales.common import get_doc, name, qty, refuse
from polyflow.erp.sales.schemas import DeliveryIn, DeliveryOut
from polyflow.kit.errors import Conflict, InvalidInput

DELIVERABLE = ("confirmed", "partially_delivered")


async def get_delivery(session: AsyncSession, delivery_id: uuid.UUID, *, lock: bool = False) -> Delivery:
    """One delivery, or 404."""
    return await get_doc(session, Delivery, delivery_id, "delivery", lock=lock)


DELIVERY_SORTS = {"date": Delivery.delivery_date, "number": Delivery.number, "status": Delivery.status}


async def list_deliveries(session: AsyncSession, *, customer_id, status, order_id, limit: int, offset: int,
                          q: str | None = None, date_from=None, date_to=None, sort: str | None = None):
    """A page of deliveries, newest first (or by `sort`, a key of DELIVERY_SORTS)."""
    extra = [Delivery.order_id == order_id] if order_id else []
    extra += repository.search_filters(Delivery, Delivery.delivery_date, q=q, date_from=date_from, date_to=date_to)
    filters = repository.document_filters(Delivery, customer_id=customer_id, status=status, extra=extra)
    return await repository.list_page(session, Delivery, filters=filters, limit=limit, offset=offset,
                                      order=repository.sort_order(Delivery, Delivery.delivery_date, sort,
                                                                  DELIVERY_SORTS))


async def with_current_cost(session: AsyncSession, deliveries: list[Delivery]) -> list[DeliveryOut]:
    """The deliveries as answered by the API, each posted line's cost read from its stock movement: a backdated
    receipt may have re-costed the issue since posting (inventory re-values it and journals the difference), and
    the stored `cost` keeps the figure at posting."""
    values = await stock_reads.movement_values(session, [ln.movement_id for d in deliveries for ln in d.lines])
    out = []
    for delivery in deliveries:
        doc = DeliveryOut.model_validate(delivery)
        for line in doc.lines:
            if line.movement_id in values:
                line.cost = -values[line.movement_id]
        out.append(doc)
    return out


def _check_remaining(order: SalesOrder, line, quantity: Decimal) -> None:
    remaining = line.quantity - line.qty_delivered
    if quantity > remaining:
        raise Conflict(f"cannot deliver {qty(quantity)} {line.unit} of {line.description} on sales order "
                       f"{order.number}: ordered {qty(line.quantity)}, delivered {qty(line.qty_delivered)}, "
                       f"remaining {qty(remaining)}")


async def create_delivery(session: AsyncSession, data: DeliveryIn, user_id: uuid.UUID | None) -> Delivery:
    """A draft delivery of a confirmed order; each quantity at most what remains to deliver (409)."""
    order = await repository.get(session, SalesOrder, data.order_id)
    if order is None:
        raise InvalidInput("unknown order_id")
    refuse(order, "sales order", DELIVERABLE, "delivered")
    if data.delivery_date < order.order_date:
        raise InvalidInput(f"delivery_date {data.delivery_date} is before the order's date {order.order_date}")
    loc = await common.location(session, data.location) if data.location else \
        await common.location(session, str(order.location_id))
    by_id = {line.id: line for line in order.lines}
    seen, lines = set(), []
    for i, item in enumerate(data.lines, 1):
        line = by_id.get(item.order_line_id)
        if line is None:
            raise InvalidInput(f"line {i}: order_line_id is not a line of sales order {order.number}")
        if line.id in seen:
            raise InvalidInput(f"line {i}: {line.description} appears twice; give one line per order line")
        seen.add(line.id)
        _check_remaining(order, line, item.quantity)
        lines.append(DeliveryLine(line_no=i, order_line_id=line.id, variant_id=line.variant_id,
                                  quantity=item.quantity))
    delivery = Delivery(order_id=order.id, customer_id=order.customer_id, location_id=loc.id,
                        delivery_date=data.delivery_date, status="draft", vehicle=data.vehicle, note=data.note,
                        created_by=user_id, lines=lines)
    session.add(delivery)
    await session.flush()
    return delivery


async def delete_delivery(session: AsyncSession, delivery_id: uuid.UUID) -> None:
    """Throw a draft delivery away."""
    delivery = await get_delivery(session, delivery_id, lock=True)
    refuse(delivery, "delivery", ("draft",), "deleted")
    await session.delete(delivery)
    await session.flush()


async def post_delivery(session: AsyncSession, delivery_id: uuid.UUID, user_id: uuid.UUID | None) -> Delivery:
    """Draft -> posted: numbered (DO), reservations released, stock out at moving-average cost (HPP)."""
    delivery = await get_delivery(session, delivery_id, lock=True)
    refuse(delivery, "delivery", ("draft",), "posted")
    order = await repository.get(session, SalesOrder, delivery.order_id, lock=True)
    refuse(order, "sales order", DELIVERABLE, "delivered")
    await accounting.ensure_postable(session, delivery.delivery_date, stock=True)
    delivery.number = await accounting.next_document_number(session, "DO", delivery.delivery_date)
    by_id = {line.id: line for line in order.lines}
    # Variant order: deliveries of several lines never wait on each other's stock rows in opposite order.
    for dl in sorted(delivery.lines, key=lambda d: str(d.variant_id)):
        line = by_id[dl.order_line_id]
        _check_remaining(order, line, dl.quantity)
        # From the order's location the reservation is released first so the issue can take the held stock;
        # from elsewhere only what exceeds the quantity still to deliver is given back.
        if delivery.location_id == order.location_id:
            freed = min(line.qty_reserved, dl.quantity)
        else:
            freed = max(line.qty_reserved - (line.quantity - line.qty_delivered - dl.quantity), Decimal(0))
        if freed > 0:
            await inventory.release(session, ReservationIn(variant_id=line.variant_id,
                                                           location=str(order.location_id), quantity=freed))
            line.qty_reserved -= freed
        try:
            movement = await inventory.create_movement(session, MovementIn(
                kind="OUT", variant_id=dl.variant_id, quantity=dl.quantity, from_location=str(delivery.location_id),
                reason="sale", reference=delivery.number, posting_date=delivery.delivery_date,
                note=f"Delivery {delivery.number} of {order.number}"), user_id=user_id, may_choose_account=False)
        except Conflict as exc:
            raise Conflict(f"delivery {name(delivery)} of {order.number}: {exc.message}") from None
        dl.movement_id, dl.cost = movement.id, -movement.value
        line.qty_delivered += dl.quantity
    order.status = "delivered" if all(ln.qty_delivered >= ln.quantity for ln in order.lines) \
        else "partially_delivered"
    delivery.status, delivery.posted_by, delivery.posted_at = "posted", user_id, datetime.now(timezone.utc)
    await session.flush()
    return delivery
