"""Inventory rules: locations, stock movements (each one transaction, posting its journal), reservations,
moving-average cost, low stock, valuation and history.

How a movement posts (all in the caller's one transaction):
  lock the variant row  ->  reason/kind and counter account  ->  out of quarantine? (409 unless the caller
  may: inspections, granulating orders, voids)  ->  posting date open? (window, lock date, month)
  ->  number (GR/GI/TRF/ADJ per year)  ->  no location's balance may go negative from the movement's
  date on  ->  cost at the moving average *as of its date*  ->  conditional stock update
  ->  journal  ->  movement row  ->  when backdated: every later outflow of the variant re-costed, the
  differences journaled (RCS) on each outflow's own date.
Ledger order is (posting_date, seq): a backdated movement counts after those already on its date.
The variant row lock comes first and the counter after it in every path, so two movements never wait
on each other in opposite order; it also makes a variant's movements (and re-costings) run one at a time."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.accounting import seeds as coa
from polyflow.erp.accounting import service as accounting
from polyflow.erp.accounting.service import Line
from polyflow.erp.catalog import service as catalog
from polyflow.erp.inventory import repository
from polyflow.erp.inventory.schemas import (
    History, HistoryLine, LocationIn, LocationPatch, LowStockRow, MovementIn, ReservationIn, StockLevelOut,
    Valuation, ValuationRow,
)
from polyflow.erp.models import Location, ProductVariant, StockMovement
from polyflow.kit.pagination import MAX_PAGE_SIZE
from polyflow.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from polyflow.kit.money import money

QTY = Decimal("0.001")
COST = Decimal("0.0001")

# Product type -> its stock account; a service has no stock (create_movement refuses it).
INVENTORY_ACCOUNT = {
    "raw_material": coa.PERSEDIAAN_BAHAN_BAKU, "packaging": coa.PERSEDIAAN_BAHAN_BAKU,
    "auxiliary": coa.PERSEDIAAN_BAHAN_BAKU,
    "intermediate": coa.PERSEDIAAN_BDP, "wip": coa.PERSEDIAAN_BDP,
    "finished_good": coa.PERSEDIAAN_BARANG_JADI, "scrap": coa.PERSEDIAAN_SCRAP,
}
DOC_TYPE = {"IN": "GR", "OUT": "GI", "TRANSFER": "TRF", "ADJUSTMENT": "ADJ"}
# Value-only movements (landed costs) are numbered on their own.
accounting.DOC_TYPES.setdefault("RVL", "stock revaluation")


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
    """Rename, re-kind or (de)activate a location; one that holds stock cannot be deactivated (409)."""
    location = await get_location(session, location_id)
    changes = patch.model_dump(exclude_unset=True)
    if changes.get("is_active") is False and location.is_active:
        held = await repository.stock_held_at(session, location.id)
        if held:
            raise Conflict(f"location {location.code} still holds stock of {held} variant(s); move it out or "
                           "adjust it to zero before deactivating the location")
    if location.kind == "quarantine" and changes.get("kind") not in (None, "quarantine"):
        # Re-kinding would make the goods held there available without an inspection.
        held = await repository.stock_held_at(session, location.id)
        if held:
            raise Conflict(f"location {location.code} is a quarantine holding stock of {held} variant(s): it must "
                           "pass inspection (or leave by a count adjustment) before the location changes kind")
    for key, value in changes.items():
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


def _outflow(movement: StockMovement) -> bool:
    return movement.kind == "OUT" or (movement.kind == "ADJUSTMENT" and movement.from_location_id is not None)


def _qty_change(movement: StockMovement) -> Decimal:
    """Signed change of the variant's total quantity."""
    if movement.kind == "TRANSFER":
        return Decimal(0)
    return -movement.quantity if _outflow(movement) else movement.quantity


def _change_at(movement: StockMovement, location_id: uuid.UUID) -> Decimal:
    change = Decimal(0)
    if movement.to_location_id == location_id:
        change += movement.quantity
    if movement.from_location_id == location_id:
        change -= movement.quantity
    return change


def _issue_value(qty: Decimal, have_qty: Decimal, have_value: Decimal) -> Decimal:
    """What an issue of `qty` takes at the moving average: all of the value when it takes all of the stock
    (no rounding residue stays behind), else its share rounded to the cent."""
    if qty >= have_qty:
        return have_value
    return money(qty * have_value / have_qty)


def _avg(value: Decimal, qty: Decimal) -> Decimal:
    return (value / qty).quantize(COST) if qty > 0 else Decimal(0)


def counter_account_for(kind: str, reason: str) -> str | None:
    """The mapped counter account of a (kind, reason) pair; 422 for a pair that makes no sense."""
    try:
        return coa.STOCK_COUNTER_ACCOUNTS[(kind, reason)]
    except KeyError:
        fits = sorted(r for k, r in coa.STOCK_COUNTER_ACCOUNTS if k == kind)
        raise InvalidInput(f"reason '{reason}' does not fit a {kind} movement (a {kind} takes: "
                           f"{', '.join(fits)})") from None


def _check_quarantine(variant: ProductVariant, src: Location | None, dst: Location | None, kind: str,
                      from_quarantine: bool) -> None:
    """409 when a movement would take stock out of quarantine without inspection. Refused: an OUT, or a
    TRANSFER to a location that is not itself a quarantine, from a location of kind quarantine. Allowed: a
    TRANSFER into quarantine (how goods are put aside), an ADJUSTMENT there (a count states what is held; it
    makes nothing available), and the callers that pass `from_quarantine` (an inspection's pass or fail, a
    granulating order grinding rejected goods, a void undoing a quarantined output)."""
    if src is None or src.kind != "quarantine" or from_quarantine or kind == "ADJUSTMENT":
        return
    if kind == "TRANSFER" and dst is not None and dst.kind == "quarantine":
        return
    raise Conflict(f"{variant.sku} at {src.code} is in quarantine: it must pass inspection first (POST "
                   "/api/v1/inspections with result pass moves a lot back to its location; fail scraps it or "
                   "keeps it for a granulating order)")


async def create_movement(session: AsyncSession, data: MovementIn, *, user_id: uuid.UUID | None = None,
                          may_choose_account: bool = True, from_quarantine: bool = False) -> StockMovement:
    """Record one stock movement and post its journal, in the caller's single transaction. A backdated
    movement is costed as of its date and re-costs the variant's later outflows. `may_choose_account`:
    whether the caller may post against another counter account than the reason's (accounting.write).
    `from_quarantine`: the caller may take stock out of a quarantine location (inspections, granulating
    orders, voids); anyone else gets a 409."""
    variant = await repository.variant_for_update(session, variant_id=data.variant_id, sku=data.sku)
    if variant is None:
        raise InvalidInput(f"unknown variant '{data.variant_id or data.sku}'")
    product = variant.product
    if not (variant.is_active and product.is_active):
        raise InvalidInput(f"{variant.sku} is inactive")
    if product.product_type == "service":
        raise InvalidInput(f"{variant.sku} is a service: it has no stock to move")
    reason = data.reason or coa.DEFAULT_STOCK_REASON[data.kind]
    counter = counter_account_for(data.kind, reason)
    if data.counter_account and data.counter_account.upper() != counter:
        chosen = data.counter_account.upper()
        if counter is None:
            raise InvalidInput(f"a {data.kind} posts no journal: do not give counter_account")
        if not may_choose_account:
            raise Forbidden(f"{data.kind} '{reason}' posts against {counter}; choosing another account ({chosen}) "
                            "needs the accounting.write permission")
        if chosen in coa.INVENTORY_ACCOUNTS:
            raise InvalidInput(f"counter account {chosen} is an inventory account")
        counter = chosen
    src = await _resolve_location(session, data.from_location, "source") if data.from_location else None
    dst = await _resolve_location(session, data.to_location, "destination") if data.to_location else None
    if src is not None and dst is not None and src.id == dst.id:
        raise InvalidInput("TRANSFER needs two different locations")
    _check_quarantine(variant, src, dst, data.kind, from_quarantine)
    factor = await _unit_factor(session, variant, data.unit)
    qty = (data.quantity * factor).quantize(QTY)  # always in the product's primary unit from here on
    if qty <= 0:
        raise InvalidInput("quantity is too small for the product's unit")
    if dst is None and data.unit_cost is not None:
        raise InvalidInput("an issue leaves at the moving-average cost; do not give unit_cost")
    posting_date = data.posting_date or await accounting.local_today(session)
    await accounting.ensure_postable(session, posting_date, stock=True)
    number = await accounting.next_document_number(session, DOC_TYPE[data.kind], posting_date)

    # Movements dated after this one: they are what a backdated movement must not break and must re-cost.
    later = await repository.later_movements(session, variant.id, posting_date)
    if src is not None:
        await _check_history(session, variant, src, qty, posting_date, later)
        if not await repository.take(session, src.id, variant.id, qty):
            have = await repository.available(session, src.id, variant.id)
            raise Conflict(f"insufficient stock of {variant.sku} at {src.code}: available {have.normalize():f}, "
                           f"requested {qty.normalize():f} {product.unit}")
    if dst is not None:
        await repository.put(session, dst.id, variant.id, qty)

    # The variant's quantity and value at the end of the posting date, before this movement.
    qty_at = variant.qty_total - sum((_qty_change(m) for m in later), Decimal(0))
    value_at = variant.stock_value - sum((m.value for m in later), Decimal(0))
    # Moving average over all locations: receipts add at their cost, issues leave at the average.
    if data.kind == "TRANSFER":
        value, unit_cost = Decimal("0.00"), _avg(value_at, qty_at)
    elif dst is not None:  # IN or ADJUSTMENT up
        if data.unit_cost is not None:  # per the unit the request used
            value = money(data.quantity * data.unit_cost)
            unit_cost = (data.unit_cost / factor).quantize(COST)
        else:
            unit_cost = _avg(value_at, qty_at) if qty_at > 0 else _buy_price(variant)
            value = money(qty * unit_cost)
    else:  # OUT or ADJUSTMENT down
        unit_cost = _avg(value_at, qty_at)
        value = -_issue_value(qty, qty_at, value_at)

    inventory = INVENTORY_ACCOUNT[product.product_type]
    entry = None
    if value != 0:
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
        reason=reason, reference=data.reference, note=data.note, posting_date=posting_date, user_id=user_id,
        journal_entry_id=entry.id if entry else None, counter_account=counter)
    session.add(movement)

    q, v = qty_at + _qty_change(movement), value_at + value
    if later:
        q, v = await _recost(session, variant, inventory, later, q, v, movement, user_id)
    variant.qty_total, variant.stock_value = q, v
    await session.flush()
    await session.refresh(movement)
    return movement


async def revalue(session: AsyncSession, variant_id: uuid.UUID, amount: Decimal, on: date, *, counter_account: str,
                  reference: str | None = None, note: str | None = None,
                  user_id: uuid.UUID | None = None) -> StockMovement:
    """Add `amount` to the stock value of a variant on a date without moving any quantity (landed costs:
    freight, duties): a REVALUATION movement and its journal Dr inventory / Cr `counter_account`. The stock
    held on that date absorbs it (its moving average rises); when dated before later issues, those are
    re-costed like after any backdated movement, so valuation == GL on every date. 409 if there is no
    stock of the variant on that date to carry the value."""
    variant = await repository.variant_for_update(session, variant_id=variant_id)
    if variant is None:
        raise InvalidInput(f"unknown variant '{variant_id}'")
    amount = money(amount)
    if amount <= 0:
        raise InvalidInput("a revaluation adds a positive amount")
    if counter_account in coa.INVENTORY_ACCOUNTS:
        raise InvalidInput(f"counter account {counter_account} is an inventory account")
    await accounting.ensure_postable(session, on, stock=True)
    later = await repository.later_movements(session, variant.id, on)
    qty_at = variant.qty_total - sum((_qty_change(m) for m in later), Decimal(0))
    value_at = variant.stock_value - sum((m.value for m in later), Decimal(0))
    if qty_at <= 0:
        raise Conflict(f"no stock of {variant.sku} on {on} to carry the cost; date it when the goods are in stock")
    number = await accounting.next_document_number(session, "RVL", on)
    inventory = INVENTORY_ACCOUNT[variant.product.product_type]
    entry = await accounting.post_journal(
        session, doc_type="RVL", number=number, entry_date=on, source="inventory", reference=reference,
        description=f"Revaluation {variant.sku} +{amount}", created_by=user_id,
        lines=[Line(inventory, debit=amount), Line(counter_account, credit=amount)])
    movement = StockMovement(
        number=number, kind="REVALUATION", variant_id=variant.id, quantity=Decimal(0),
        unit_cost=_avg(value_at + amount, qty_at), value=amount, reason="revaluation", reference=reference,
        note=note, posting_date=on, user_id=user_id, journal_entry_id=entry.id, counter_account=counter_account)
    session.add(movement)
    q, v = qty_at, value_at + amount
    if later:
        q, v = await _recost(session, variant, inventory, later, q, v, movement, user_id)
    variant.qty_total, variant.stock_value = q, v
    await session.flush()
    await session.refresh(movement)
    return movement


async def _check_history(session: AsyncSession, variant: ProductVariant, src: Location, qty: Decimal,
                         on: date, later: list[StockMovement]) -> None:
    """409 unless `src` keeps a non-negative balance at every point from `on` to now after giving `qty`
    on `on` (and still covers its reservations today). Walks back from today's level through the later
    movements only."""
    if not any(m.from_location_id == src.id or m.to_location_id == src.id for m in later):
        return  # nothing later at this location: today's level decides (the conditional take)
    on_hand, reserved = await repository.level_amounts(session, src.id, variant.id)
    lowest, worst_date, balance = on_hand - reserved, None, on_hand
    for m in reversed(later):
        balance -= _change_at(m, src.id)  # the balance just before m
        if balance < lowest:
            lowest, worst_date = balance, m.posting_date
    if qty > lowest:
        when = f" (the balance runs lowest just before {worst_date})" if worst_date else " (what is left there today)"
        raise Conflict(f"insufficient stock of {variant.sku} at {src.code} on {on}: {max(lowest, 0).normalize():f} "
                       f"{variant.product.unit} can be taken from that date on{when}, requested "
                       f"{qty.normalize():f}")


async def _recost(session: AsyncSession, variant: ProductVariant, inventory: str, later: list[StockMovement],
                  q: Decimal, v: Decimal, trigger: StockMovement, user_id) -> tuple[Decimal, Decimal]:
    """Replay the variant's later movements from the state after the backdated one: receipts keep their
    value, each issue is re-valued at the moving average of its own point in time. The differences are
    journaled per outflow date (Dr/Cr inventory against the outflow's counter account), so the stock
    value as of every date stays equal to the inventory accounts as of that date."""
    diffs: dict[date, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    changed = {}
    for m in later:
        if _outflow(m):
            new = -_issue_value(m.quantity, q, v)
            if new != m.value:
                counter = m.counter_account or coa.STOCK_COUNTER_ACCOUNTS.get(
                    (m.kind, m.reason or coa.DEFAULT_STOCK_REASON[m.kind])) or coa.SELISIH_PERSEDIAAN
                diffs[m.posting_date][counter] += new - m.value  # < 0: more value left the stock
                changed[m.posting_date] = changed.get(m.posting_date, []) + [m.number]
                m.value, m.unit_cost = new, _avg(v, q)
            v += new
        else:
            v += m.value
        q += _qty_change(m)
    entries = []
    for on, by_counter in sorted(diffs.items()):
        lines = [Line(code, debit=-d if d < 0 else Decimal(0), credit=d if d > 0 else Decimal(0))
                 for code, d in sorted(by_counter.items()) if d != 0]
        total = sum(by_counter.values(), Decimal(0))
        if total:
            lines.append(Line(inventory, debit=total if total > 0 else Decimal(0),
                              credit=-total if total < 0 else Decimal(0)))
        if lines:
            entries.append((on, f"Re-costing {variant.sku}: {', '.join(changed[on])} after {trigger.number} "
                                f"dated {trigger.posting_date}"[:500], lines))
    try:
        await accounting.post_journals(session, doc_type="RCS", source="inventory", entries=entries,
                                       reference=trigger.number, created_by=user_id)
    except Conflict as exc:
        first = entries[0][0] if entries else trigger.posting_date
        raise Conflict(f"{trigger.number} dated {trigger.posting_date} changes the cost of issues from {first} on, "
                       f"which cannot be re-posted: {exc.message}") from None
    return q, v


async def _unit_factor(session: AsyncSession, variant: ProductVariant, unit: str | None) -> Decimal:
    """Primary units per one `unit`: the product's own, sales or converted unit (catalog owns the factors)."""
    return await catalog.unit_factor(session, variant.product, unit, label=variant.sku)


def _buy_price(variant: ProductVariant) -> Decimal:
    price = variant.buy_price if variant.buy_price is not None else variant.product.buy_price
    if price is None:
        raise InvalidInput(f"give unit_cost: {variant.sku} has no stock and no buy price")
    return price


async def get_movement(session: AsyncSession, movement_id: uuid.UUID) -> StockMovement:
    movement = await session.get(StockMovement, movement_id)
    if movement is None:
        raise NotFound("stock movement not found")
    return movement


async def list_movements(session: AsyncSession, **filters):
    accounting.check_range(filters.get("date_from"), filters.get("date_to"))
    return await repository.list_movements(session, **filters)


async def history(session: AsyncSession, variant_id: uuid.UUID, location_id: uuid.UUID | None, *,
                  limit: int = MAX_PAGE_SIZE, cursor: str | None = None) -> History:
    """A page of a variant's movements in posting order with the running balance (at one location or overall)."""
    if await repository.find_variant(session, variant_id=variant_id) is None:
        raise NotFound("variant not found")
    rows, next_cursor = await repository.history(session, variant_id, location_id, limit=limit, cursor=cursor)
    return History(variant_id=variant_id, location_id=location_id, limit=limit, next_cursor=next_cursor, lines=[
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


async def reserve(session: AsyncSession, data: ReservationIn, *, from_quarantine: bool = False) -> StockLevelOut:
    """Hold stock for an order: reserved += qty, only if that much is available. Stock in a quarantine
    location is not available (409) unless the caller may take from there (`from_quarantine`: a granulating
    order)."""
    variant, location = await _level_target(session, data)
    if location.kind == "quarantine" and not from_quarantine:
        raise Conflict(f"{variant.sku} at {location.code} is in quarantine and cannot be reserved: it must pass "
                       "inspection first (POST /api/v1/inspections with result pass moves a lot back to its "
                       "location)")
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
