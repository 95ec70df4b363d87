"""All inventory queries. Stock changes are single conditional statements so that concurrent
requests can never take more than is there."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import and_, case, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.models import Location, Product, ProductVariant, StockLevel, StockMovement
from polyflow.kit.db import escape_like
from polyflow.kit.pagination import after, amount, decode_cursor, encode_cursor


async def get_location(session: AsyncSession, location_id: uuid.UUID) -> Location | None:
    return await session.get(Location, location_id)


async def location_by_code(session: AsyncSession, code: str) -> Location | None:
    return (await session.execute(select(Location).where(func.upper(Location.code) == code.upper()))).scalar_one_or_none()


async def list_locations(session: AsyncSession, *, q, kind, active, sort, limit, offset):
    filters = []
    if q:
        like = "%" + escape_like(q) + "%"
        filters.append(Location.code.ilike(like) | Location.name.ilike(like))
    if kind:
        filters.append(Location.kind == kind)
    if active is not None:
        filters.append(Location.is_active == active)
    order = {"code": Location.code, "-code": Location.code.desc(), "name": Location.name,
             "-name": Location.name.desc()}[sort]
    total = func.count().over()
    rows = (await session.execute(select(Location, total).where(*filters).order_by(order, Location.code)
                                  .limit(limit).offset(offset))).all()
    if rows:
        return [r[0] for r in rows], rows[0][1]
    return [], (await session.execute(select(func.count()).select_from(Location).where(*filters))).scalar_one()


async def variant_for_update(session: AsyncSession, *, variant_id: uuid.UUID | None = None,
                             sku: str | None = None) -> ProductVariant | None:
    """The variant row locked until commit: movements of one variant run one after another, which keeps
    its moving average exact."""
    stmt = select(ProductVariant).with_for_update(of=ProductVariant)
    stmt = stmt.where(ProductVariant.id == variant_id) if variant_id else stmt.where(ProductVariant.sku == sku)
    return (await session.execute(stmt)).unique().scalar_one_or_none()


async def find_variant(session: AsyncSession, *, variant_id: uuid.UUID | None = None,
                       sku: str | None = None) -> ProductVariant | None:
    stmt = select(ProductVariant)
    stmt = stmt.where(ProductVariant.id == variant_id) if variant_id else stmt.where(ProductVariant.sku == sku)
    return (await session.execute(stmt)).unique().scalar_one_or_none()


async def take(session: AsyncSession, location_id, variant_id, qty: Decimal) -> bool:
    """on_hand -= qty only if what is left still covers the reservations; False if not enough."""
    stmt = (update(StockLevel)
            .where(StockLevel.location_id == location_id, StockLevel.variant_id == variant_id,
                   StockLevel.on_hand - StockLevel.reserved >= qty)
            .values(on_hand=StockLevel.on_hand - qty).returning(StockLevel.on_hand))
    return (await session.execute(stmt)).first() is not None


async def put(session: AsyncSession, location_id, variant_id, qty: Decimal) -> None:
    stmt = insert(StockLevel).values(location_id=location_id, variant_id=variant_id, on_hand=qty)
    stmt = stmt.on_conflict_do_update(index_elements=["location_id", "variant_id"],
                                      set_={"on_hand": StockLevel.on_hand + stmt.excluded.on_hand,
                                            "updated_at": func.now()})
    await session.execute(stmt)


async def available(session: AsyncSession, location_id, variant_id) -> Decimal:
    row = (await session.execute(select(StockLevel.on_hand - StockLevel.reserved).where(
        StockLevel.location_id == location_id, StockLevel.variant_id == variant_id))).first()
    return row[0] if row else Decimal(0)


async def reserve(session: AsyncSession, location_id, variant_id, qty: Decimal) -> bool:
    stmt = (update(StockLevel)
            .where(StockLevel.location_id == location_id, StockLevel.variant_id == variant_id,
                   StockLevel.on_hand - StockLevel.reserved >= qty)
            .values(reserved=StockLevel.reserved + qty, updated_at=func.now()).returning(StockLevel.reserved))
    return (await session.execute(stmt)).first() is not None


async def release(session: AsyncSession, location_id, variant_id, qty: Decimal) -> bool:
    stmt = (update(StockLevel)
            .where(StockLevel.location_id == location_id, StockLevel.variant_id == variant_id,
                   StockLevel.reserved >= qty)
            .values(reserved=StockLevel.reserved - qty, updated_at=func.now()).returning(StockLevel.reserved))
    return (await session.execute(stmt)).first() is not None


async def level(session: AsyncSession, location_id, variant_id) -> StockLevel | None:
    return await session.get(StockLevel, (location_id, variant_id), populate_existing=True)


def _levels_query():
    return (select(StockLevel, Location.code, ProductVariant.sku, ProductVariant.name, Product.unit)
            .join(Location, Location.id == StockLevel.location_id)
            .join(ProductVariant, ProductVariant.id == StockLevel.variant_id)
            .join(Product, Product.id == ProductVariant.product_id))


async def list_levels(session: AsyncSession, *, variant_id, location_id, product_id, q, nonzero, sort, limit, offset,
                      product_type: str | None = None):
    filters = []
    if product_type:
        filters.append(Product.product_type == product_type)
    if variant_id:
        filters.append(StockLevel.variant_id == variant_id)
    if location_id:
        filters.append(StockLevel.location_id == location_id)
    if product_id:
        filters.append(ProductVariant.product_id == product_id)
    if q:
        like = "%" + escape_like(q) + "%"
        filters.append(ProductVariant.sku.ilike(like) | ProductVariant.name.ilike(like))
    if nonzero:
        filters.append(StockLevel.on_hand > 0)
    order = {"sku": (ProductVariant.sku, Location.code), "-sku": (ProductVariant.sku.desc(), Location.code),
             "location": (Location.code, ProductVariant.sku), "on_hand": (StockLevel.on_hand, ProductVariant.sku),
             "-on_hand": (StockLevel.on_hand.desc(), ProductVariant.sku)}[sort]
    stmt = _levels_query().add_columns(func.count().over()).where(*filters).order_by(*order).limit(limit).offset(offset)
    rows = (await session.execute(stmt)).all()
    if rows:
        return rows, rows[0][-1]
    count = select(func.count()).select_from(_levels_query().where(*filters).subquery())
    return [], (await session.execute(count)).scalar_one()


async def low_stock(session: AsyncSession):
    on_hand = func.coalesce(func.sum(StockLevel.on_hand), 0)
    reserved = func.coalesce(func.sum(StockLevel.reserved), 0)
    minimum = func.coalesce(ProductVariant.min_stock, Product.min_stock)
    stmt = (select(ProductVariant.id, ProductVariant.sku, ProductVariant.name, Product.unit, on_hand,
                   on_hand - reserved, minimum)
            .join(Product, Product.id == ProductVariant.product_id)
            .outerjoin(StockLevel, StockLevel.variant_id == ProductVariant.id)
            .where(ProductVariant.is_active, Product.is_active, minimum > 0)
            .group_by(ProductVariant.id, Product.id).having(on_hand - reserved < minimum)
            .order_by(ProductVariant.sku))
    return (await session.execute(stmt)).all()


def qty_change():
    """Signed change of a movement's quantity (at all locations together)."""
    return case((StockMovement.kind == "IN", StockMovement.quantity),
                (StockMovement.kind == "OUT", -StockMovement.quantity),
                (and_(StockMovement.kind == "ADJUSTMENT", StockMovement.to_location_id.is_not(None)),
                 StockMovement.quantity),
                (StockMovement.kind == "ADJUSTMENT", -StockMovement.quantity), else_=literal(0))


async def valuation(session: AsyncSession, as_of: date):
    """Quantity and value per variant from the movements posted up to the date (inclusive), for every
    variant with a movement by then: its running totals (qty_total, stock_value, kept with every movement)
    less the movements after the date, so that a recent date reads a few rows, not the whole history."""
    later = (select(StockMovement.variant_id, func.sum(qty_change()).label("qty"),
                    func.sum(StockMovement.value).label("value"))
             .where(StockMovement.posting_date > as_of).group_by(StockMovement.variant_id).subquery())
    moved = (select(StockMovement.id).where(StockMovement.variant_id == ProductVariant.id,
                                            StockMovement.posting_date <= as_of).exists())
    stmt = (select(ProductVariant.id, ProductVariant.sku, ProductVariant.name, Product.product_type,
                   ProductVariant.qty_total - func.coalesce(later.c.qty, 0),
                   ProductVariant.stock_value - func.coalesce(later.c.value, 0))
            .outerjoin(later, later.c.variant_id == ProductVariant.id)
            .join(Product, Product.id == ProductVariant.product_id).where(moved)
            .order_by(ProductVariant.sku))
    return (await session.execute(stmt)).all()


_MOVEMENT_KEY_TYPES_DATE = (date.fromisoformat, datetime.fromisoformat, str)
# A history cursor: the last movement's key, then the running quantity after it (carried, so a later page
# is one index range scan instead of a running sum recomputed over every earlier movement).
_HISTORY_KEY_TYPES = (*_MOVEMENT_KEY_TYPES_DATE, amount)


async def history(session: AsyncSession, variant_id: uuid.UUID, location_id: uuid.UUID | None, *, limit: int,
                  cursor: str | None = None):
    """A page of a variant's movements in posting order, each with the running quantity after it:
    (rows, next cursor)."""
    if location_id is None:
        change = qty_change()
        where = [StockMovement.variant_id == variant_id]
    else:
        change = (case((StockMovement.to_location_id == location_id, StockMovement.quantity), else_=literal(0))
                  - case((StockMovement.from_location_id == location_id, StockMovement.quantity), else_=literal(0)))
        where = [StockMovement.variant_id == variant_id,
                 (StockMovement.to_location_id == location_id) | (StockMovement.from_location_id == location_id)]
    order = (StockMovement.posting_date, StockMovement.moved_at, StockMovement.number)
    value = case((StockMovement.kind == "TRANSFER", literal(0)), else_=StockMovement.value) if location_id is None \
        else StockMovement.value
    tag = f"sh{variant_id}:{location_id}"
    balance = Decimal(0)
    if cursor is not None:
        *key, balance = decode_cursor(cursor, tag, _HISTORY_KEY_TYPES)
        where.append(after(order, key))
    stmt = (select(StockMovement.id, StockMovement.number, StockMovement.kind, StockMovement.posting_date,
                   StockMovement.moved_at, StockMovement.reference, change, value)
            .where(*where).order_by(*order).limit(limit + 1))
    fetched = (await session.execute(stmt)).all()
    rows = []
    for mid, number, kind, posting_date, moved_at, reference, qty, val in fetched[:limit]:
        balance += qty
        rows.append((mid, number, kind, posting_date, moved_at, reference, qty, balance, val))
    next_cursor = None
    if len(fetched) > limit:
        last = rows[-1]
        next_cursor = encode_cursor(tag, [last[3], last[4], last[1], last[7]])
    return rows, next_cursor


# Sort -> (key columns, descending). Each key ends with the unique movement number: a cursor never repeats
# or skips a movement, even among many posted on one date in one instant.
_MOVEMENT_KEYS = {
    "date": ((StockMovement.posting_date, StockMovement.moved_at, StockMovement.number), False),
    "-date": ((StockMovement.posting_date, StockMovement.moved_at, StockMovement.number), True),
    "number": ((StockMovement.number,), False),
    "-number": ((StockMovement.number,), True),
}
_MOVEMENT_KEY_TYPES = {"date": _MOVEMENT_KEY_TYPES_DATE, "-date": _MOVEMENT_KEY_TYPES_DATE, "number": (str,),
                       "-number": (str,)}


async def list_movements(session: AsyncSession, *, variant_id, location_id, kind, date_from, date_to, q, sort,
                         limit, offset=0, cursor=None):
    """A page of movements: (movements, total or None on a cursor page, next cursor)."""
    filters = []
    if variant_id:
        filters.append(StockMovement.variant_id == variant_id)
    if location_id:
        filters.append((StockMovement.from_location_id == location_id) | (StockMovement.to_location_id == location_id))
    if kind:
        filters.append(StockMovement.kind == kind)
    if date_from:
        filters.append(StockMovement.posting_date >= date_from)
    if date_to:
        filters.append(StockMovement.posting_date <= date_to)
    if q:
        like = "%" + escape_like(q) + "%"
        filters.append(StockMovement.number.ilike(like) | StockMovement.reference.ilike(like))
    columns, descending = _MOVEMENT_KEYS[sort]
    page = list(filters)
    if cursor is not None:
        page.append(after(columns, decode_cursor(cursor, "sm" + sort, _MOVEMENT_KEY_TYPES[sort]),
                          descending=descending))
    order = [c.desc() for c in columns] if descending else list(columns)
    rows = list((await session.execute(select(StockMovement).where(*page).order_by(*order)
                                       .limit(limit + 1).offset(offset))).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor("sm" + sort, [getattr(rows[-1], c.key) for c in columns]) if more else None
    total = None
    if cursor is None:
        total = (await session.execute(select(func.count()).select_from(StockMovement).where(*filters))).scalar_one()
    return rows, total, next_cursor


async def later_movements(session: AsyncSession, variant_id, after: date) -> list[StockMovement]:
    """The variant's movements dated after `after`, in ledger order (index variant_id, posting_date, seq)."""
    stmt = (select(StockMovement).where(StockMovement.variant_id == variant_id, StockMovement.posting_date > after)
            .order_by(StockMovement.posting_date, StockMovement.seq))
    return list((await session.execute(stmt)).scalars())


async def level_amounts(session: AsyncSession, location_id, variant_id) -> tuple[Decimal, Decimal]:
    """(on_hand, reserved) today; zeros when the location never held the variant."""
    row = (await session.execute(select(StockLevel.on_hand, StockLevel.reserved).where(
        StockLevel.location_id == location_id, StockLevel.variant_id == variant_id))).first()
    return (row[0], row[1]) if row else (Decimal(0), Decimal(0))


async def stock_held_at(session: AsyncSession, location_id) -> int:
    """How many variants have stock at the location."""
    return (await session.execute(select(func.count()).select_from(StockLevel).where(
        StockLevel.location_id == location_id, StockLevel.on_hand > 0))).scalar_one()


# -- reads for stock counts (erp/stockcount) -------------------------------------------------------


async def hold_movements(session: AsyncSession) -> None:
    """Wait for movements under way to commit and hold new ones until this transaction ends: a snapshot
    read now is consistent with the highest seq (a seq taken before commit cannot land behind it)."""
    from sqlalchemy import text

    await session.execute(text("LOCK TABLE stock_movements IN SHARE ROW EXCLUSIVE MODE"))


async def last_seq(session: AsyncSession) -> int:
    return (await session.execute(select(func.coalesce(func.max(StockMovement.seq), 0)))).scalar_one()


async def location_stock(session: AsyncSession, location_id, *, variant_ids=None, product_type=None):
    """(variant id, sku, on hand there, qty_total, stock_value, buy price) of the variants with stock at the
    location, or, with a filter, of the filter's variants (active ones even without stock there)."""
    on_hand = func.coalesce(StockLevel.on_hand, 0)
    stmt = (select(ProductVariant.id, ProductVariant.sku, on_hand, ProductVariant.qty_total,
                   ProductVariant.stock_value, func.coalesce(ProductVariant.buy_price, Product.buy_price))
            .join(Product, Product.id == ProductVariant.product_id)
            .outerjoin(StockLevel, and_(StockLevel.variant_id == ProductVariant.id,
                                        StockLevel.location_id == location_id))
            .where(Product.product_type != "service"))  # a service has no stock to count
    if variant_ids is None and product_type is None:
        stmt = stmt.where(StockLevel.on_hand > 0)
    else:
        if variant_ids is not None:
            stmt = stmt.where(ProductVariant.id.in_(variant_ids))
        if product_type is not None:
            stmt = stmt.where(Product.product_type == product_type)
        stmt = stmt.where((StockLevel.on_hand > 0) | (ProductVariant.is_active & Product.is_active))
    return (await session.execute(stmt.order_by(ProductVariant.sku))).all()


async def location_changes(session: AsyncSession, location_id, variant_ids, *, after_seq: int,
                           through_seq: int | None = None) -> dict[uuid.UUID, Decimal]:
    """Net quantity change per variant at the location from the movements with after_seq < seq (<= through)."""
    change = func.sum(case((StockMovement.to_location_id == location_id, StockMovement.quantity), else_=literal(0))
                      - case((StockMovement.from_location_id == location_id, StockMovement.quantity),
                             else_=literal(0)))
    where = [StockMovement.variant_id.in_(variant_ids), StockMovement.seq > after_seq,
             (StockMovement.to_location_id == location_id) | (StockMovement.from_location_id == location_id)]
    if through_seq is not None:
        where.append(StockMovement.seq <= through_seq)
    rows = await session.execute(select(StockMovement.variant_id, change).where(*where)
                                 .group_by(StockMovement.variant_id))
    return {vid: qty for vid, qty in rows.all()}


async def lock_variants(session: AsyncSession, variant_ids) -> list[ProductVariant]:
    """The variants' rows locked in id order (the lock every movement takes first)."""
    stmt = (select(ProductVariant).where(ProductVariant.id.in_(variant_ids)).order_by(ProductVariant.id)
            .with_for_update(of=ProductVariant))
    return list((await session.execute(stmt)).unique().scalars())
