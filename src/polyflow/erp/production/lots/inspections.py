"""Quality inspections of lots: pass, fail or quarantine, and what each does to the stock.

- quarantine (an available lot): its remaining quantity moves by TRANSFER (reason other, no journal) from
  its location into the quarantine location (code KARANTINA, kind quarantine; created on first need), the
  lot's former location is kept in its attributes (`quarantined_from`), status quarantine. Stock there is
  not at the warehouse or production area any more, so nothing can issue, reserve or sell it from there;
  the orders package issues only lots whose status is `available`.
- pass: a quarantined lot moves back to its former location (TRANSFER), status available; an available
  lot just gets the record.
- fail: status rejected; the remaining quantity leaves stock by OUT reason scrap (Dr 5300 Beban Scrap /
  Cr the stock account, at the moving average) from wherever the lot is, and remaining becomes 0 — or,
  with `to_regrind`, it stays (or is first put) in quarantine for a granulator order.

One movement at most per inspection (kept in `inspections.movement_id`), dated the inspection date, in the
inspection's transaction; the lot row is locked first."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.accounting import service as accounting
from polyflow.erp.inventory import service as inventory
from polyflow.erp.inventory.schemas import LocationIn, MovementIn
from polyflow.erp.models import Inspection, Location, Lot
from polyflow.erp.production.lots import repository
from polyflow.erp.production.lots.schemas import InspectionIn, InspectionOut
from polyflow.erp.production.lots.service import get_lot_row, inspection_out
from polyflow.kit.errors import Conflict, InvalidInput, NotFound

QUARANTINE_CODE = "KARANTINA"
INSPECTABLE = ("available", "quarantine")


async def quarantine_location(session: AsyncSession) -> Location:
    """The quarantine location KARANTINA, created through inventory on first need; 409 if a location of that
    code exists with another kind or is inactive."""
    location = await repository.quarantine_location(session, QUARANTINE_CODE)
    if location is None:
        try:
            location = await inventory.create_location(session, LocationIn(
                code=QUARANTINE_CODE, name="Karantina (quality hold)", kind="quarantine"))
        except Conflict:  # another inspection created it first and has committed
            location = await repository.quarantine_location(session, QUARANTINE_CODE)
    if location.kind != "quarantine" or not location.is_active:
        state = "inactive" if not location.is_active else f"a {location.kind} location"
        raise Conflict(f"location {QUARANTINE_CODE} is {state}: quarantined stock goes there, so make it an "
                       "active location of kind quarantine (PATCH /api/v1/locations/{id})")
    return location


async def _move(session: AsyncSession, lot: Lot, data: InspectionIn, on, user_id, *, kind: str,
                to: uuid.UUID | None = None):
    """Move the lot's remaining quantity: TRANSFER to `to`, or OUT as scrap."""
    if lot.location_id is None:
        raise Conflict(f"lot {lot.number} has no location: its stock cannot be moved")
    if to == lot.location_id:
        return None  # already there (e.g. taken on as an opening lot at the quarantine location)
    body = dict(kind=kind, variant_id=lot.variant_id, quantity=lot.remaining, from_location=str(lot.location_id),
                reference=lot.number, posting_date=on, note=f"inspection {data.result} of lot {lot.number}")
    if kind == "TRANSFER":
        body.update(to_location=str(to), reason="other")
    else:
        body.update(reason="scrap")
    try:
        # An inspection is what may take stock out of quarantine (pass: back; fail: scrapped).
        return await inventory.create_movement(session, MovementIn(**body), user_id=user_id, may_choose_account=False,
                                               from_quarantine=True)
    except Conflict as exc:
        hint = " (stock reserved for orders does not move: issue it or cancel the reservation first)" \
            if "insufficient stock" in exc.message else ""
        raise Conflict(f"lot {lot.number}: {exc.message}{hint}") from None


async def inspect(session: AsyncSession, data: InspectionIn, user_id: uuid.UUID | None) -> InspectionOut:
    """Record an inspection of a lot and move its stock as the result requires (see the module docstring)."""
    lot = await get_lot_row(session, data.lot_id, lock=True)
    on = data.inspected_on or await accounting.local_today(session)
    if lot.produced_on is not None and on < lot.produced_on:
        raise InvalidInput(f"inspection date {on} is before lot {lot.number} came in ({lot.produced_on})")
    if lot.status not in INSPECTABLE:
        raise Conflict(f"lot {lot.number} is {lot.status}: only an available or quarantined lot can be inspected")
    attributes = dict(lot.attributes or {})
    movement = None
    has_stock = lot.remaining > 0
    if data.result == "quarantine":
        if lot.status == "quarantine":
            raise Conflict(f"lot {lot.number} is already in quarantine: inspect it again with result pass (back to "
                           "its location) or fail (scrap, or keep it for regrind)")
        hold = await quarantine_location(session)
        if has_stock:
            movement = await _move(session, lot, data, on, user_id, kind="TRANSFER", to=hold.id)
        attributes["quarantined_from"] = str(lot.location_id) if lot.location_id else None
        lot.location_id, lot.status = hold.id, "quarantine"
    elif data.result == "pass":
        if lot.status == "quarantine":
            back = await _former_location(session, lot, attributes)
            if has_stock:
                movement = await _move(session, lot, data, on, user_id, kind="TRANSFER", to=back.id)
            lot.location_id = back.id
            attributes.pop("quarantined_from", None)
        lot.status = "available"
    else:  # fail
        if data.to_regrind:
            if lot.status == "available":
                hold = await quarantine_location(session)
                if has_stock:
                    movement = await _move(session, lot, data, on, user_id, kind="TRANSFER", to=hold.id)
                attributes["quarantined_from"] = str(lot.location_id) if lot.location_id else None
                lot.location_id = hold.id
            attributes["to_regrind"] = True
        elif has_stock:
            movement = await _move(session, lot, data, on, user_id, kind="OUT")
            lot.remaining = Decimal(0)
        lot.status = "rejected"
    lot.attributes = attributes
    inspection = Inspection(lot_id=lot.id, result=data.result, inspected_on=on, inspector=data.inspector,
                            checks=data.checks, note=data.note, movement_id=movement.id if movement else None,
                            created_by=user_id)
    session.add(inspection)
    await session.flush()
    await session.refresh(inspection)
    return inspection_out(inspection, lot.number, movement.kind if movement else None)


async def _former_location(session: AsyncSession, lot: Lot, attributes: dict) -> Location:
    ref = attributes.get("quarantined_from")
    location = await repository.location(session, ref) if ref else None
    if location is None:
        raise Conflict(f"lot {lot.number} does not say where it was before quarantine: move its stock with a "
                       "stock transfer and inspect it again")
    if not location.is_active:
        raise Conflict(f"lot {lot.number} came from {location.code}, which is inactive: reactivate it first")
    return location


async def get_inspection(session: AsyncSession, inspection_id: uuid.UUID) -> InspectionOut:
    """One inspection."""
    found = await repository.inspection(session, inspection_id)
    if found is None:
        raise NotFound("inspection not found")
    return inspection_out(*found)


async def list_inspections(session: AsyncSession, *, limit: int, offset: int, **filters):
    """Inspections, newest first, by lot, result and date."""
    accounting.check_range(filters.get("date_from"), filters.get("date_to"))
    rows, total = await repository.list_inspections(session, limit=limit, offset=offset, **filters)
    return [inspection_out(*r) for r in rows], total
