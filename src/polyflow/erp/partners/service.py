"""Partner rules: customers and suppliers with their tax identity (the same functions serve the API and
the pages, and the sales and purchasing documents that refer to partners)."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.models import Partner, PartnerPrice
from polyflow.erp.partners import repository
from polyflow.erp.partners.schemas import PartnerIn, PartnerPatch, PriceIn
from polyflow.kit import tax_ids as identifiers
from polyflow.kit.errors import Conflict, InvalidInput, NotFound

# Not nullable: null in a PATCH means "leave as is".
REQUIRED_FIELDS = ("name", "is_customer", "is_supplier", "entity_type", "is_pkp", "payment_terms_days")


def _tin(partner: Partner) -> str | None:
    """The number a tax invoice identifies the partner by: its NPWP, else an individual's NIK."""
    return partner.npwp or (partner.nik if partner.entity_type == "individual" else None)


def _check_identity(partner: Partner) -> None:
    """The identity fields together: NIK for individuals only, NITKU of the partner's own NPWP/NIK
    (defaulting to its head office), a PKP has an NPWP, and a partner has a role."""
    if not (partner.is_customer or partner.is_supplier):
        raise InvalidInput("a partner is a customer, a supplier or both: set is_customer and/or is_supplier")
    if partner.nik and partner.entity_type != "individual":
        raise InvalidInput("NIK is for individuals: set entity_type to 'individual' or use the NPWP")
    if partner.is_pkp and not partner.npwp:
        raise InvalidInput("a PKP (VAT-registered) partner must have its NPWP")
    tin = _tin(partner)
    if partner.nitku is None:
        partner.nitku = identifiers.default_nitku(tin) if tin else None
    elif tin is None:
        raise InvalidInput("a NITKU needs the partner's NPWP (or an individual's NIK)")
    elif not partner.nitku.startswith(tin):
        raise InvalidInput(f"NITKU {partner.nitku} is not a place of business of {tin} "
                           "(its first 16 digits must be the NPWP, or the NIK of an individual)")


async def _flush_or_code_taken(session: AsyncSession, code: str) -> None:
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise Conflict(f"partner code '{code}' is already used") from None


async def get_partner(session: AsyncSession, partner_id: uuid.UUID) -> Partner:
    """One partner of this tenant, or 404."""
    partner = await repository.get(session, partner_id)
    if partner is None:
        raise NotFound("partner not found")
    return partner


async def list_partners(session: AsyncSession, *, q: str | None = None, is_customer: bool | None = None,
                        is_supplier: bool | None = None, active: bool | None = None, sort: str = "code",
                        limit: int, offset: int) -> tuple[list[Partner], int]:
    """A page of partners matching a search over code, name and NPWP/NITKU/NIK, with the total."""
    return await repository.list_page(session, q=q, is_customer=is_customer, is_supplier=is_supplier,
                                      active=active, sort=sort, limit=limit, offset=offset)


async def create_partner(session: AsyncSession, data: PartnerIn) -> Partner:
    """Create a customer and/or supplier; a code already in use is a 409."""
    partner = Partner(**data.model_dump(), is_active=True)
    _check_identity(partner)
    session.add(partner)
    await _flush_or_code_taken(session, data.code)
    await session.refresh(partner)
    return partner


async def update_partner(session: AsyncSession, partner_id: uuid.UUID, patch: PartnerPatch) -> Partner:
    """Change the given fields; the identity fields are re-checked together."""
    partner = await get_partner(session, partner_id)
    changes = {k: v for k, v in patch.model_dump(exclude_unset=True).items()
               if not (v is None and k in REQUIRED_FIELDS)}
    old_tin = _tin(partner)
    for key, value in changes.items():
        setattr(partner, key, value)
    if "nitku" not in changes and old_tin and partner.nitku == identifiers.default_nitku(old_tin) \
            and _tin(partner) != old_tin:
        partner.nitku = None  # it was the old number's head office: follow the new number
    _check_identity(partner)
    await session.flush()
    await session.refresh(partner)
    return partner


async def set_active(session: AsyncSession, partner_id: uuid.UUID, active: bool) -> Partner:
    """Deactivate (new documents refuse the partner; its history stays) or reactivate a partner."""
    partner = await get_partner(session, partner_id)
    partner.is_active = active
    await session.flush()
    await session.refresh(partner)
    return partner


# -- partner prices ------------------------------------------------------------------------------------------
SIDE_ROLE = {"sale": ("is_customer", "a customer"), "purchase": ("is_supplier", "a supplier")}


async def list_prices(session: AsyncSession, partner_id: uuid.UUID, *, variant_id: uuid.UUID | None = None,
                      side: str | None = None, on: date | None = None, limit: int, offset: int):
    """A partner's price entries (by SKU, newest first); `on` keeps those covering that date."""
    await get_partner(session, partner_id)
    return await repository.list_prices(session, partner_id, variant_id=variant_id, side=side, on=on, limit=limit,
                                        offset=offset)


async def add_price(session: AsyncSession, partner_id: uuid.UUID, data: PriceIn) -> PartnerPrice:
    """Add a price entry: a sale price for a customer, a purchase price for a supplier."""
    partner = await get_partner(session, partner_id)
    flag, role = SIDE_ROLE[data.side]
    if not getattr(partner, flag):
        raise InvalidInput(f"a {data.side} price needs {role}; {partner.code} is not one")
    if not await repository.variant_exists(session, data.variant_id):
        raise InvalidInput("unknown variant_id")
    code = partner.code  # a failed savepoint expires the loaded objects
    price = PartnerPrice(partner_id=partner_id, **data.model_dump())
    session.add(price)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise Conflict(f"{code} already has a {data.side} price of that variant from "
                       f"{data.effective_from.isoformat()}; add one from another date") from None
    await session.refresh(price)
    return price


async def delete_price(session: AsyncSession, partner_id: uuid.UUID, price_id: uuid.UUID) -> None:
    """Remove a price entry entered by mistake (the audit log keeps what it was)."""
    await get_partner(session, partner_id)
    price = await repository.get_price(session, partner_id, price_id)
    if price is None:
        raise NotFound("price not found")
    await session.delete(price)
    await session.flush()


async def price_for(session: AsyncSession, partner_id: uuid.UUID, variant_id: uuid.UUID, side: str,
                    on: date) -> PartnerPrice | None:
    """The partner's price of a variant on a date (the entry that started last), or None: documents then
    fall back to the variant's or product's list price."""
    return await repository.price_in_effect(session, partner_id, variant_id, side, on)
