"""All partner queries."""

from __future__ import annotations

import re
import uuid
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.models import Partner, PartnerPrice, ProductVariant
from polyflow.kit.db import escape_like

SORTS = {"code": (Partner.code,), "-code": (Partner.code.desc(),), "name": (Partner.name, Partner.code),
         "-name": (Partner.name.desc(), Partner.code), "created": (Partner.created_at, Partner.code),
         "-created": (Partner.created_at.desc(), Partner.code)}
_SEPARATORS = re.compile(r"[\s.\-/]")


async def get(session: AsyncSession, partner_id: uuid.UUID) -> Partner | None:
    return await session.get(Partner, partner_id)


async def list_page(session: AsyncSession, *, q: str | None, is_customer: bool | None, is_supplier: bool | None,
                    active: bool | None, sort: str, limit: int, offset: int) -> tuple[list[Partner], int]:
    """One page (ORDER BY ... LIMIT on the index of the sort; a count(*) OVER () in it would read and sort
    every matching partner first) and the total: told by a short page (the last one), else counted."""
    filters = []
    if q:
        like = "%" + escape_like(q) + "%"
        searched = [Partner.code.ilike(like), Partner.name.ilike(like)]
        digits = _SEPARATORS.sub("", q)
        if digits.isascii() and digits.isdigit():  # "01.234.567.8-901.000" finds the stored digits
            prefixes = [digits] + (["0" + digits] if len(digits) == 15 else [])  # a legacy 15-digit NPWP
            searched += [column.startswith(p) for p in prefixes
                         for column in (Partner.npwp, Partner.nitku, Partner.nik)]
        filters.append(or_(*searched))
    if is_customer is not None:
        filters.append(Partner.is_customer == is_customer)
    if is_supplier is not None:
        filters.append(Partner.is_supplier == is_supplier)
    if active is not None:
        filters.append(Partner.is_active == active)
    rows = list((await session.execute(
        select(Partner).where(*filters).order_by(*SORTS[sort]).limit(limit).offset(offset))).scalars())
    if rows and len(rows) < limit or not rows and offset == 0:
        return rows, offset + len(rows)
    return rows, (await session.execute(select(func.count()).select_from(Partner).where(*filters))).scalar_one()


async def variant_exists(session: AsyncSession, variant_id: uuid.UUID) -> bool:
    return (await session.execute(select(ProductVariant.id).where(ProductVariant.id == variant_id))).first() is not None


async def get_price(session: AsyncSession, partner_id: uuid.UUID, price_id: uuid.UUID) -> PartnerPrice | None:
    return (await session.execute(select(PartnerPrice).where(PartnerPrice.id == price_id,
                                                             PartnerPrice.partner_id == partner_id))).scalar_one_or_none()


def _in_effect(on: date):
    return [PartnerPrice.effective_from <= on,
            or_(PartnerPrice.effective_to.is_(None), PartnerPrice.effective_to >= on)]


async def price_in_effect(session: AsyncSession, partner_id: uuid.UUID, variant_id: uuid.UUID, side: str,
                          on: date) -> PartnerPrice | None:
    """The entry that started last among those covering `on` (one index range scan)."""
    return (await session.execute(
        select(PartnerPrice).where(PartnerPrice.partner_id == partner_id, PartnerPrice.variant_id == variant_id,
                                   PartnerPrice.side == side, *_in_effect(on))
        .order_by(PartnerPrice.effective_from.desc()).limit(1)
    )).scalar_one_or_none()


async def list_prices(session: AsyncSession, partner_id: uuid.UUID, *, variant_id: uuid.UUID | None,
                      side: str | None, on: date | None, limit: int, offset: int) -> tuple[list[PartnerPrice], int]:
    filters = [PartnerPrice.partner_id == partner_id]
    if variant_id is not None:
        filters.append(PartnerPrice.variant_id == variant_id)
    if side is not None:
        filters.append(PartnerPrice.side == side)
    if on is not None:
        filters += _in_effect(on)
    total_col = func.count().over().label("total")
    rows = (await session.execute(
        select(PartnerPrice, total_col).join(ProductVariant, ProductVariant.id == PartnerPrice.variant_id)
        .where(*filters).order_by(ProductVariant.sku, PartnerPrice.side, PartnerPrice.effective_from.desc())
        .limit(limit).offset(offset)
    )).all()
    if rows:
        return [r[0] for r in rows], rows[0][1]
    if offset == 0:
        return [], 0
    return [], (await session.execute(select(func.count()).select_from(PartnerPrice).where(*filters))).scalar_one()
