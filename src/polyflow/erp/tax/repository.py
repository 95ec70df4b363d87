"""All tax queries: tax codes and their versions, the company's tax profile."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.models import Account, CompanyTaxProfile, TaxCode
from polyflow.kit.db import escape_like


async def get(session: AsyncSession, tax_code_id: uuid.UUID) -> TaxCode | None:
    return await session.get(TaxCode, tax_code_id)


async def lock_code(session: AsyncSession, code: str) -> None:
    """Serialise writers of one code's versions until commit (their date ranges must not overlap)."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('tax_code:' || :code))"), {"code": code})


async def versions(session: AsyncSession, code: str) -> list[TaxCode]:
    rows = await session.execute(select(TaxCode).where(TaxCode.code == code).order_by(TaxCode.effective_from))
    return list(rows.scalars())


async def in_effect(session: AsyncSession, code: str, on: date) -> TaxCode | None:
    """The active version of `code` whose date range covers `on`."""
    return (await session.execute(
        select(TaxCode).where(TaxCode.code == code, TaxCode.is_active, TaxCode.effective_from <= on,
                              or_(TaxCode.effective_to.is_(None), TaxCode.effective_to >= on))
        .order_by(TaxCode.effective_from.desc()).limit(1)
    )).scalar_one_or_none()


async def active_account(session: AsyncSession, code: str) -> Account | None:
    return (await session.execute(select(Account).where(Account.code == code, Account.is_active))).scalar_one_or_none()


async def list_page(session: AsyncSession, *, q: str | None, kind: str | None, active: bool | None,
                    on: date | None, limit: int, offset: int) -> tuple[list[TaxCode], int]:
    """One page and the total in one round trip (count(*) OVER ()); a second query only past the end."""
    filters = []
    if q:
        like = "%" + escape_like(q) + "%"
        filters.append(or_(TaxCode.code.ilike(like), TaxCode.name.ilike(like)))
    if kind:
        filters.append(TaxCode.kind == kind)
    if active is not None:
        filters.append(TaxCode.is_active == active)
    if on is not None:
        filters += [TaxCode.effective_from <= on, or_(TaxCode.effective_to.is_(None), TaxCode.effective_to >= on)]
    total_col = func.count().over().label("total")
    rows = (await session.execute(
        select(TaxCode, total_col).where(*filters).order_by(TaxCode.code, TaxCode.effective_from)
        .limit(limit).offset(offset)
    )).all()
    if rows:
        return [r[0] for r in rows], rows[0][1]
    if offset == 0:
        return [], 0
    return [], (await session.execute(select(func.count()).select_from(TaxCode).where(*filters))).scalar_one()


async def company_profile(session: AsyncSession, *, for_update: bool = False) -> CompanyTaxProfile | None:
    """The single profile row (0008 creates it; None only if someone deleted it)."""
    statement = select(CompanyTaxProfile).where(CompanyTaxProfile.id == 1)
    if for_update:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()
