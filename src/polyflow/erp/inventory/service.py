"""Inventory rules: locations, stock movements (each one transaction, posting its journal), reservations,
moving-average cost, low stock, valuation and history.

How a movement posts (all in the caller's one transaction):
  lock the variant row  ->  period open?  ->  number (GR/GI/TRF/ADJ per year)  ->  conditional stock
  update (409 with the available amount if short)  ->  new moving-average value  ->  journal with the
  movement's number  ->  movement row pointing at the journal.
The variant row lock comes first and the counter after it in every path, so two movements never wait
on each other in opposite order."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.accounting import seeds as coa
from polyflow.erp.accounting import service as accounting
from polyflow.erp.accounting.service import Line, money
from polyflow.erp.inventory import repository
from polyflow.erp.inventory.schemas import (
    History, HistoryLine, LocationIn, LocationPatch, LowStockRow, MovementIn, ReservationIn, StockLevelOut,
    Valuation, ValuationRow,
)
from polyflow.erp.models import Location, ProductVariant, StockMovement
from polyflow.kit.errors import Conflict, InvalidInput, NotFound

QTY = Decimal("0.001")

INVENTORY_ACCOUNT = {
    "raw_material": coa.PERSEDIAAN_BAHAN_BAKU, "packaging": coa.PERSEDIAAN_BAHAN_BAKU,
    "intermediate": coa.PERSEDIAAN_BDP, "wip": coa.PERSEDIAAN_BDP,
    "finished_good": coa.PERSEDIAAN_BARANG_JADI, "scrap": coa.PERSEDIAAN_BARANG_JADI,
}
# The other side of the journal, by reason (a request may name another account).
IN_COUNTER = {"purchase": coa.BARANG_BELUM_DITAGIH, "opening": coa.EKUITAS_SALDO_AWAL,
              "production": coa.PEMAKAIAN_BAHAN_BAKU, "return": coa.HPP}
OUT_COUNTER = {"sale": coa.HPP, "scrap": coa.BEBAN_SCRAP, "consumption": coa.PEMAKAIAN_BAHAN_BAKU}
DOC_TYPE = {"IN": "GR", "OUT": "GI", "TRANSFER": "TRF", "ADJUSTMENT": "ADJ"}


today = accounting.today


# -- locations -----------------------------------------------------------------------------------


async def list_locations(session: AsyncSession, **filters):
    return await repository.list_locations(session, **filters)


async def get_location(session: AsyncSession, location_id: uuid.UUID) -> Location:
    location = await repository.get_location(session, location_id)
    if location is None:
        raise NotFound("location not found")
    return location


async def create_location(session: AsyncSession, data: LocationIn) -> Location:
    """Add a warehouse or production area; a code in use is a 409."""
    location = Location(code=data.code.upper(), name=data.name, kind=data.kind)
    session.add(location)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise Conflict(f"location code '{data.code.upper()}' is already used") from None
    await session.refresh(location)
    return location


async def update_location(session: AsyncSession, location_id: uuid.UUID, patch: LocationPatch) -> Location:
    location = await get_location(session, location_id)
    for key, value in patch.model_dump(exclude_unset=True).items():
        if value is not None:
            setattr(location, key, value)
    await session.flush()
    await session.refresh(location)
    return location


async def _resolve_location(session: AsyncSession, ref: str, role: str) -> Location:
    try:
        location = await repository.get_location(session, uuid.UUID(ref))
    except ValueError:
        location = await repository.location_by_code(session, ref)
    if location is None:
        raise InvalidInput(f"unknown {role} location '{ref}'")
    if not location.is_active:
        raise InvalidInput(f"{role} location {location.code} is inactive")
    return location


# -- movements -----------------------------------------------------------------------------------


async def create_movement(session: AsyncSession, data: MovementIn, *, user_id: uuid.UUID | None = None) -> StockMovement:
    """Record one stock movement and post its journal, in the caller's single transaction."""
    variant = await repository.variant_for_update(session, variant_id=data.variant_id, sku=data.sku)
    if variant is None:
        raise InvalidInput(f"unknown variant '{data.variant_id or data.sku}'")
    product = variant.product
    if not (variant.is_active and product.is_active):
        raise InvalidInput(f"{variant.sku} is inactive")
    src = await _resolve_location(session, data.from_location, "source") if data.from_location else None
    dst = await _resolve_location(session, data.to_location, "destination") if data.to_location else None
    if src is not None and dst is not None and src.id == dst.id:
        raise InvalidInput("TRANSFER needs two different locations")
    factor = _unit_factor(variant, data.unit)
    qty = (data.quantity * factor).quantize(QTY)  # always in the product's primary unit from here on
    if qty <= 0:
        raise InvalidInput("quantity is too small for the product's unit")
    posting_date = data.posting_date or today()
    await accounting.ensure_period_open(session, posting_date)
    number = await accounting.next_document_number(session, DOC_TYPE[data.kind], posting_date)

    if src is not None and not await repository.take(session, src.id, variant.id, qty):
        have = await repository.available(session, src.id, variant.id)
        raise Conflict(f"insufficient stock of {variant.sku} at {src.code}: available {have.normalize():f}, "
                       f"requested {qty.normalize():f} {product.unit}")
    if dst is not None:
        await repository.put(session, dst.id, variant.id, qty)

    # Moving average over all locations: receipts add at their cost, issues leave at the average
    # (an issue of everything takes exactly the remaining value, so no rounding residue stays behind).
    if data.kind == "TRANSFER":
        value, unit_cost = Decimal("0.00"), variant.avg_cost
    elif dst is not None:  # IN or ADJUSTMENT up
        if data.unit_cost is not None:  # per the unit the request used
            value = money(data.quantity * data.unit_cost)
            unit_cost = (data.unit_cost / factor).quantize(Decimal("0.0001"))
        else:
            unit_cost = _default_cost(variant, data.kind)
            value = money(qty * unit_cost)
        variant.qty_total += qty
        variant.stock_value += value
    else:  # OUT or ADJUSTMENT down
        if data.unit_cost is not None:
            raise InvalidInput("an issue leaves at the moving-average cost; do not give unit_cost")
        unit_cost = variant.avg_cost
        out = variant.stock_value if qty >= variant.qty_total else money(qty * variant.stock_value / variant.qty_total)
        value = -out
        variant.qty_total -= qty
        variant.stock_value -= out

    entry = None
    if value != 0:
        inventory = INVENTORY_ACCOUNT[product.product_type]
        counter = (data.counter_account or _counter(data.kind, data.reason, increase=value > 0)).upper()
        if counter in coa.INVENTORY_ACCOUNTS:
            raise InvalidInput(f"counter account {counter} is an inventory account")
        amount = abs(value)
        lines = [Line(inventory, debit=amount), Line(counter, credit=amount)] if value > 0 else \
            [Line(counter, debit=amount), Line(inventory, credit=amount)]
        entry = await accounting.post_journal(
            session, doc_type=DOC_TYPE[data.kind], number=number, entry_date=posting_date, source="inventory",
            description=f"{data.kind} {variant.sku} {qty.normalize():f} {product.unit}", reference=data.reference,
            lines=lines, created_by=user_id)

    movement = StockMovement(
        number=number, kind=data.kind, variant_id=variant.id, from_location_id=src.id if src else None,
        to_location_id=dst.id if dst else None, quantity=qty, unit_cost=unit_cost, value=value,
        reason=data.reason, reference=data.reference, note=data.note, posting_date=posting_date, user_id=user_id,
        journal_entry_id=entry.id if entry else None)
    session.add(movement)
    await session.flush()
    await session.refresh(movement)
    return movement


def _unit_factor(variant: ProductVariant, unit: str | None) -> Decimal:
    product = variant.product
    if unit is None or unit.upper() == product.unit:
        return Decimal(1)
    if product.sales_unit and unit.upper() == product.sales_unit:
        return product.sales_unit_factor
    units = product.unit + (f" or {product.sales_unit}" if product.sales_unit else "")
    raise InvalidInput(f"unknown unit '{unit.upper()}' for {variant.sku} (use {units})")


def _default_cost(variant: ProductVariant, kind: str) -> Decimal:
    if variant.qty_total > 0:
        return variant.avg_cost
    price = variant.buy_price if variant.buy_price is not None else variant.product.buy_price
    if price is None:
        raise InvalidInput(f"give unit_cost: {variant.sku} has no stock and no buy price")
    return price


def _counter(kind: str, reason: str | None, *, increase: bool) -> str:
    if kind == "ADJUSTMENT":
        return coa.SELISIH_PERSEDIAAN
    if kind == "IN":
        return IN_COUNTER.get(reason or "purchase", coa.BARANG_BELUM_DITAGIH)
    return OUT_COUNTER.get(reason or "sale", coa.HPP)


async def get_movement(session: AsyncSession, movement_id: uuid.UUID) -> StockMovement:
    movement = await session.get(StockMovement, movement_id)
    if movement is None:
        raise NotFound("stock movement not found")
    return movement


async def list_movements(session: AsyncSession, **filters):
    return await repository.list_movements(session, **filters)


async def history(session: AsyncSession, variant_id: uuid.UUID, location_id: uuid.UUID | None) -> History:
    """A variant's movements in posting order with the running balance (at one location or overall)."""
    if await repository.find_variant(session, variant_id=variant_id) is None:
        raise NotFound("variant not found")
    rows = await repository.history(session, variant_id, location_id)
    return History(variant_id=variant_id, location_id=location_id, lines=[
        HistoryLine(movement_id=r[0], number=r[1], kind=r[2], posting_date=r[3], moved_at=r[4], reference=r[5],
                    quantity_change=r[6], balance=r[7], value_change=r[8]) for r in rows])


# -- levels, reservations, reports ---------------------------------------------------------------


async def list_levels(session: AsyncSession, **filters):
    rows, total = await repository.list_levels(session, **filters)
    return [StockLevelOut(location_id=lvl.location_id, location_code=code, variant_id=lvl.variant_id, sku=sku,
                          name=name, unit=unit, on_hand=lvl.on_hand, reserved=lvl.reserved,
                          available=lvl.on_hand - lvl.reserved)
            for lvl, code, sku, name, unit, _ in rows], total


async def _level_target(session: AsyncSession, data: ReservationIn):
    variant = await repository.find_variant(session, variant_id=data.variant_id, sku=data.sku)
    if variant is None:
        raise InvalidInput(f"unknown variant '{data.variant_id or data.sku}'")
    return variant, await _resolve_location(session, data.location, "stock")


async def reserve(session: AsyncSession, data: ReservationIn) -> StockLevelOut:
    """Hold stock for an order: reserved += qty, only if that much is available."""
    variant, location = await _level_target(session, data)
    qty = data.quantity.quantize(QTY)
    if not await repository.reserve(session, location.id, variant.id, qty):
        have = await repository.available(session, location.id, variant.id)
        raise Conflict(f"insufficient stock of {variant.sku} at {location.code}: available {have.normalize():f}, "
                       f"requested {qty.normalize():f}")
    return await _level_out(session, location, variant)


async def release(session: AsyncSession, data: ReservationIn) -> StockLevelOut:
    """Give reserved stock back: reserved -= qty."""
    variant, location = await _level_target(session, data)
    qty = data.quantity.quantize(QTY)
    if not await repository.release(session, location.id, variant.id, qty):
        raise Conflict(f"less than {qty.normalize():f} of {variant.sku} is reserved at {location.code}")
    return await _level_out(session, location, variant)


async def _level_out(session, location: Location, variant: ProductVariant) -> StockLevelOut:
    lvl = await repository.level(session, location.id, variant.id)
    return StockLevelOut(location_id=location.id, location_code=location.code, variant_id=variant.id, sku=variant.sku,
                         name=variant.name, unit=variant.product.unit, on_hand=lvl.on_hand, reserved=lvl.reserved,
                         available=lvl.on_hand - lvl.reserved)


async def low_stock(session: AsyncSession) -> list[LowStockRow]:
    """Active variants whose available stock (all locations) is below their minimum."""
    return [LowStockRow(variant_id=r[0], sku=r[1], name=r[2], unit=r[3], on_hand=r[4], available=r[5], min_stock=r[6],
                        shortfall=r[6] - r[5]) for r in await repository.low_stock(session)]


async def valuation(session: AsyncSession, as_of: date) -> Valuation:
    """Stock quantity and value per variant at the end of a date, and per inventory account (equal to
    those accounts' general-ledger balance at that date, since only movements post to them)."""
    rows, by_account = [], {code: Decimal("0.00") for code in coa.INVENTORY_ACCOUNTS}
    for vid, sku, name, ptype, qty, value in await repository.valuation(session, as_of):
        account = INVENTORY_ACCOUNT[ptype]
        by_account[account] += value
        avg = (value / qty).quantize(Decimal("0.0001")) if qty else Decimal(0)
        rows.append(ValuationRow(variant_id=vid, sku=sku, name=name, product_type=ptype, account=account,
                                 quantity=qty, value=value, avg_cost=avg))
    return Valuation(as_of=as_of, rows=rows, total_value=sum(by_account.values(), Decimal("0.00")),
                     by_account=by_account)
