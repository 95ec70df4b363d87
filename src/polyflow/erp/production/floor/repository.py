"""All queries of the floor's master data (and the few reads of catalog, locations and users it checks
references against)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.models import (
    Bom, Location, Machine, MachineDowntime, PieceRate, Product, ProductVariant, Route,
    RouteStepMachine, Shift, User,
)


async def page(session: AsyncSession, model, filters: list[Any], order_by: list[Any], limit: int,
               offset: int) -> tuple[list, int]:
    """One page and the total in one round trip (count(*) OVER ()); a second query only past the end."""
    rows = (await session.execute(
        select(model, func.count().over().label("total")).where(*filters).order_by(*order_by)
        .limit(limit).offset(offset)
    )).all()
    if rows:
        return [r[0] for r in rows], rows[0][1]
    if offset == 0:
        return [], 0
    return [], (await session.execute(select(func.count()).select_from(model).where(*filters))).scalar_one()


async def lock(session: AsyncSession, key: str) -> None:
    """A transaction-scoped advisory lock: writers of the same thing queue instead of racing."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key})


# -- references ------------------------------------------------------------------------------------------------


async def location_by_ref(session: AsyncSession, ref: str) -> Location | None:
    try:
        return await session.get(Location, uuid.UUID(ref))
    except ValueError:
        return (await session.execute(select(Location).where(Location.code == ref.upper()))).scalar_one_or_none()


async def shift_by_ref(session: AsyncSession, ref: str) -> Shift | None:
    try:
        return await session.get(Shift, uuid.UUID(ref))
    except ValueError:
        return (await session.execute(select(Shift).where(Shift.code == ref.upper()))).scalar_one_or_none()


async def user_exists(session: AsyncSession, user_id: uuid.UUID) -> bool:
    return (await session.execute(select(User.id).where(User.id == user_id))).first() is not None


async def product(session: AsyncSession, product_id: uuid.UUID) -> Product | None:
    return await session.get(Product, product_id)


async def product_by_sku(session: AsyncSession, sku: str) -> Product | None:
    """A product by its own SKU, else the product of the variant with that SKU."""
    found = (await session.execute(select(Product).where(Product.sku == sku))).scalar_one_or_none()
    if found is not None:
        return found
    return (await session.execute(
        select(Product).join(ProductVariant, ProductVariant.product_id == Product.id).where(ProductVariant.sku == sku)
    )).scalar_one_or_none()


async def variants(session: AsyncSession, ids: set[uuid.UUID], skus: set[str]) -> list[ProductVariant]:
    """The variants with these ids or SKUs (each with its product loaded)."""
    if not ids and not skus:
        return []
    return list((await session.execute(
        select(ProductVariant).where(or_(ProductVariant.id.in_(ids), ProductVariant.sku.in_(skus)))
    )).scalars())


async def variants_by_id(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, ProductVariant]:
    return {v.id: v for v in await variants(session, ids, set())}


async def machines_by_ref(session: AsyncSession, ids: set[uuid.UUID], codes: set[str]) -> list[Machine]:
    if not ids and not codes:
        return []
    return list((await session.execute(
        select(Machine).where(or_(Machine.id.in_(ids), Machine.code.in_(codes)))
    )).scalars())


# -- machines and downtime -------------------------------------------------------------------------------------


async def machine_for_update(session: AsyncSession, machine_id: uuid.UUID) -> Machine | None:
    return (await session.execute(
        select(Machine).where(Machine.id == machine_id).with_for_update())).scalar_one_or_none()


async def machine_in_routes(session: AsyncSession, machine_id: uuid.UUID) -> bool:
    return (await session.execute(
        select(RouteStepMachine.step_id).where(RouteStepMachine.machine_id == machine_id).limit(1)
    )).first() is not None


async def overlapping_downtime(session: AsyncSession, machine_id: uuid.UUID, start: datetime, end: datetime | None,
                               *, other_than: uuid.UUID | None = None) -> MachineDowntime | None:
    """A downtime of the machine sharing any moment with [start, end) (an open one runs on forever)."""
    filters = [MachineDowntime.machine_id == machine_id,
               or_(MachineDowntime.ended_at.is_(None), MachineDowntime.ended_at > start)]
    if end is not None:
        filters.append(MachineDowntime.started_at < end)
    if other_than is not None:
        filters.append(MachineDowntime.id != other_than)
    return (await session.execute(
        select(MachineDowntime).where(*filters).order_by(MachineDowntime.started_at).limit(1)
    )).scalar_one_or_none()


async def downtime(session: AsyncSession, machine_id: uuid.UUID, downtime_id: uuid.UUID) -> MachineDowntime | None:
    return (await session.execute(select(MachineDowntime).where(
        MachineDowntime.id == downtime_id, MachineDowntime.machine_id == machine_id))).scalar_one_or_none()


# -- piece rates -----------------------------------------------------------------------------------------------


async def piece_rate_exists(session: AsyncSession, stage: str, product_id: uuid.UUID | None, valid_from: date) -> bool:
    product_match = PieceRate.product_id.is_(None) if product_id is None else PieceRate.product_id == product_id
    return (await session.execute(select(PieceRate.id).where(
        PieceRate.stage == stage, product_match, PieceRate.valid_from == valid_from))).first() is not None


async def piece_rate_in_effect(session: AsyncSession, stage: str, product_id: uuid.UUID | None,
                               on: date) -> PieceRate | None:
    """The product's own rate in effect on `on`, else the stage's rate for any product."""
    rows = (await session.execute(
        select(PieceRate).where(PieceRate.stage == stage, PieceRate.valid_from <= on,
                                or_(PieceRate.product_id.is_(None), PieceRate.product_id == product_id))
        .order_by(PieceRate.product_id.is_(None), PieceRate.valid_from.desc()).limit(1)
    )).scalars().first()
    return rows


# -- BOMs ------------------------------------------------------------------------------------------------------


async def next_bom_version(session: AsyncSession, product_id: uuid.UUID) -> int:
    top = (await session.execute(select(func.max(Bom.version)).where(Bom.product_id == product_id))).scalar_one()
    return (top or 0) + 1


async def default_bom(session: AsyncSession, product_id: uuid.UUID) -> Bom | None:
    return (await session.execute(
        select(Bom).where(Bom.product_id == product_id, Bom.is_default))).scalar_one_or_none()


async def default_boms(session: AsyncSession, product_ids: set[uuid.UUID] | None = None) -> list[Bom]:
    """The default BOMs (of these products; of every product when None)."""
    query = select(Bom).where(Bom.is_default)
    if product_ids is not None:
        query = query.where(Bom.product_id.in_(product_ids))
    return list((await session.execute(query)).scalars())


async def variant_products(session: AsyncSession, variant_ids: set[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """variant id -> its product id (one query, no ORM objects)."""
    if not variant_ids:
        return {}
    rows = await session.execute(select(ProductVariant.id, ProductVariant.product_id)
                                 .where(ProductVariant.id.in_(variant_ids)))
    return {vid: pid for vid, pid in rows}


async def product_skus(session: AsyncSession, product_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not product_ids:
        return {}
    return {pid: sku for pid, sku in await session.execute(
        select(Product.id, Product.sku).where(Product.id.in_(product_ids)))}


def bom_filters(product_id: uuid.UUID | None, stage: str | None, active: bool | None) -> list[Any]:
    filters = []
    if product_id is not None:
        filters.append(Bom.product_id == product_id)
    if stage is not None:
        filters.append(Bom.stage == stage)
    if active is not None:
        filters.append(Bom.is_active == active)
    return filters


async def bom_for_update(session: AsyncSession, bom_id: uuid.UUID) -> Bom | None:
    return (await session.execute(select(Bom).where(Bom.id == bom_id).with_for_update())).scalar_one_or_none()


async def boms_by_id(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, Bom]:
    if not ids:
        return {}
    return {b.id: b for b in (await session.execute(select(Bom).where(Bom.id.in_(ids)))).scalars()}


# -- routes ----------------------------------------------------------------------------------------------------


async def default_route(session: AsyncSession, product_id: uuid.UUID) -> Route | None:
    return (await session.execute(
        select(Route).where(Route.product_id == product_id, Route.is_default))).scalar_one_or_none()


async def route_for_update(session: AsyncSession, route_id: uuid.UUID) -> Route | None:
    return (await session.execute(select(Route).where(Route.id == route_id).with_for_update())).scalar_one_or_none()


async def route_code_taken(session: AsyncSession, code: str) -> bool:
    return (await session.execute(select(Route.id).where(Route.code == code))).first() is not None

