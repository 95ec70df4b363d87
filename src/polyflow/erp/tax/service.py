"""Tax rules (the same functions serve the API, the pages and the documents that charge tax).

Documents call `in_effect(session, code, on)` for the version of a tax code valid on their date and
`compute(...)` (erp/tax/calc.py) for the figures; the rounding rule lives in calc.py alone.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Sequence

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.models import CompanyTaxProfile, TaxCode
from polyflow.erp.tax import calc, repository
from polyflow.kit import tax_ids as identifiers
from polyflow.erp.tax.schemas import CompanyTaxIn, TaxCodeIn, TaxCodePatch
from polyflow.kit.errors import Conflict, InvalidInput, NotFound


async def get_tax_code(session: AsyncSession, tax_code_id: uuid.UUID) -> TaxCode:
    """One tax code version of this tenant, or 404."""
    tax_code = await repository.get(session, tax_code_id)
    if tax_code is None:
        raise NotFound("tax code not found")
    return tax_code


async def list_tax_codes(session: AsyncSession, *, q: str | None = None, kind: str | None = None,
                         active: bool | None = None, on: date | None = None, limit: int, offset: int):
    """Tax code versions by code then start date; `on` keeps those in effect that day."""
    return await repository.list_page(session, q=q, kind=kind, active=active, on=on, limit=limit, offset=offset)


async def in_effect(session: AsyncSession, code: str, on: date) -> TaxCode:
    """The active version of `code` in effect on `on`, or 404 naming the code and the date."""
    tax_code = await repository.in_effect(session, code.strip().upper(), on)
    if tax_code is None:
        raise NotFound(f"no active tax code '{code}' is in effect on {on.isoformat()}")
    return tax_code


async def _check_accounts(session: AsyncSession, kind: str, sales: str | None, purchase: str | None) -> None:
    # Output tax arises only on sales and input tax only on purchases: the other side has no account.
    if kind == "ppn_output" and purchase:
        raise InvalidInput("PPN Keluaran (ppn_output) is charged on sales only: leave purchase_account empty")
    if kind == "ppn_input" and sales:
        raise InvalidInput("PPN Masukan (ppn_input) is paid on purchases only: leave sales_account empty")
    for field, code in (("sales_account", sales), ("purchase_account", purchase)):
        if code and await repository.active_account(session, code) is None:
            raise InvalidInput(f"{field}: no active account '{code}' in the chart of accounts")


def _overlaps(a_from: date, a_to: date | None, b_from: date, b_to: date | None) -> bool:
    return (b_to is None or a_from <= b_to) and (a_to is None or b_from <= a_to)


def _span(tax_code: TaxCode) -> str:
    end = tax_code.effective_to.isoformat() if tax_code.effective_to else "open"
    return f"{tax_code.effective_from.isoformat()}..{end}"


async def create_tax_code(session: AsyncSession, data: TaxCodeIn) -> TaxCode:
    """Create a tax code, or a new version of an existing code (a rate change). The open-ended version that
    started earlier is closed the day before; any other overlap of dates is a 409."""
    await _check_accounts(session, data.kind, data.sales_account, data.purchase_account)
    await repository.lock_code(session, data.code)
    for other in await repository.versions(session, data.code):
        if other.kind != data.kind:
            raise Conflict(f"tax code '{data.code}' is a '{other.kind}' code; a version cannot change its kind")
        if not _overlaps(data.effective_from, data.effective_to, other.effective_from, other.effective_to):
            continue
        if other.effective_to is None and other.effective_from < data.effective_from:
            other.effective_to = data.effective_from - timedelta(days=1)  # superseded from the new start
            continue
        raise Conflict(f"tax code '{data.code}' already has a version for {_span(other)}, which overlaps "
                       f"{data.effective_from.isoformat()}..{data.effective_to or 'open'}")
    tax_code = TaxCode(**data.model_dump())
    session.add(tax_code)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise Conflict(f"tax code '{data.code}' already has a version from {data.effective_from}") from None
    await session.refresh(tax_code)
    return tax_code


async def update_tax_code(session: AsyncSession, tax_code_id: uuid.UUID, patch: TaxCodePatch) -> TaxCode:
    """Change a version's name, accounts, end date or active flag (rate, base and start never change)."""
    tax_code = await get_tax_code(session, tax_code_id)
    changes = patch.model_dump(exclude_unset=True)
    for key in ("name", "is_active"):
        if key in changes and changes[key] is None:
            del changes[key]  # not nullable: null means "leave as is"
    await _check_accounts(session, tax_code.kind, changes.get("sales_account", tax_code.sales_account),
                          changes.get("purchase_account", tax_code.purchase_account))
    if "effective_to" in changes:
        end = changes["effective_to"]
        if end is not None and end < tax_code.effective_from:
            raise InvalidInput(f"effective_to is before effective_from ({tax_code.effective_from.isoformat()})")
        await repository.lock_code(session, tax_code.code)
        for other in await repository.versions(session, tax_code.code):
            if other.id != tax_code.id and _overlaps(tax_code.effective_from, end, other.effective_from,
                                                     other.effective_to):
                raise Conflict(f"that end date overlaps the version for {_span(other)}")
    for key, value in changes.items():
        setattr(tax_code, key, value)
    await session.flush()
    await session.refresh(tax_code)
    return tax_code


def compute(tax_code: TaxCode, amounts: Sequence[Decimal], *, inclusive: bool = False) -> calc.DocumentTax:
    """A document's DPP, DPP nilai lain and tax under this version (whole rupiah, the rule of calc.py)."""
    try:
        return calc.compute(amounts, rate=tax_code.rate, base_rule=tax_code.base_rule, inclusive=inclusive)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


def _blank_profile() -> CompanyTaxProfile:
    return CompanyTaxProfile(id=1, legal_name="", is_pkp=False)


async def get_company(session: AsyncSession) -> CompanyTaxProfile:
    """The company's own tax identity (seller on its tax invoices)."""
    return await repository.company_profile(session) or _blank_profile()


async def update_company(session: AsyncSession, data: CompanyTaxIn) -> CompanyTaxProfile:
    """Change the company's tax identity; a PKP needs an NPWP, and the NITKU must be of that NPWP."""
    profile = await repository.company_profile(session, for_update=True)
    if profile is None:
        profile = _blank_profile()
        session.add(profile)
    changes = data.model_dump(exclude_unset=True)
    for key in ("legal_name", "is_pkp"):
        if key in changes and changes[key] is None:
            del changes[key]
    old_npwp = profile.npwp
    for key, value in changes.items():
        setattr(profile, key, value)
    if "npwp" in changes and "nitku" not in changes and profile.nitku and old_npwp \
            and profile.nitku == identifiers.default_nitku(old_npwp):
        profile.nitku = None  # it was the old NPWP's head office: follow the new NPWP
    if profile.npwp and not profile.nitku:
        profile.nitku = identifiers.default_nitku(profile.npwp)
    if profile.nitku and not profile.npwp:
        raise InvalidInput("a NITKU needs the company's NPWP")
    if profile.nitku and not profile.nitku.startswith(profile.npwp):
        raise InvalidInput(f"NITKU {profile.nitku} is not a place of business of NPWP {profile.npwp} "
                           "(its first 16 digits must be the NPWP)")
    if profile.is_pkp and not profile.npwp:
        raise InvalidInput("a PKP (VAT-registered company) must have its NPWP")
    await session.flush()
    await session.refresh(profile)
    return profile
