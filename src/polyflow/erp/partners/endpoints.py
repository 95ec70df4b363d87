"""Partners JSON API (tenant host only): customers and suppliers.

Partners serve two plan modules: sales (customers) and purchasing (suppliers). Reading needs
``sales.read`` or ``purchasing.read``; any change needs ``sales.write`` or ``purchasing.write`` (a module
counts only if the tenant's plan has it). So a sales clerk and a buyer both keep the partner list, a
warehouse user or a viewer only reads it.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response

from polyflow.erp.identity.auth import authorize_any
from polyflow.erp.partners import service
from polyflow.erp.partners.schemas import PartnerIn, PartnerOut, PartnerPatch, PriceIn, PriceOut, PriceSide
from polyflow.kit.limits import Day
from polyflow.kit.pagination import Page, PageParams, page_params
from polyflow.platform.tenancy.deps import TenantSession


router = APIRouter(prefix="/api/v1", tags=["partners"], dependencies=[authorize_any("sales", "purchasing")])


@router.get("/partners", response_model=Page[PartnerOut])
async def list_partners(
    session: TenantSession,
    page: Annotated[PageParams, Depends(page_params)],
    q: Annotated[str | None, Query(max_length=100, description="Search code, name, NPWP, NITKU or NIK")] = None,
    is_customer: bool | None = None,
    is_supplier: bool | None = None,
    active: bool | None = None,
    sort: Literal["code", "-code", "name", "-name", "created", "-created"] = "code",
):
    """List partners, by code unless `sort` says otherwise."""
    items, total = await service.list_partners(session, q=q, is_customer=is_customer, is_supplier=is_supplier,
                                               active=active, sort=sort, limit=page.limit, offset=page.offset)
    return Page[PartnerOut](items=items, total=total, limit=page.limit, offset=page.offset)


@router.post("/partners", response_model=PartnerOut, status_code=201)
async def create_partner(session: TenantSession, data: PartnerIn):
    """Create a customer and/or supplier."""
    return await service.create_partner(session, data)


@router.get("/partners/{partner_id}", response_model=PartnerOut)
async def get_partner(session: TenantSession, partner_id: uuid.UUID):
    """One partner."""
    return await service.get_partner(session, partner_id)


@router.patch("/partners/{partner_id}", response_model=PartnerOut)
async def update_partner(session: TenantSession, partner_id: uuid.UUID, patch: PartnerPatch):
    """Change a partner (the code stays)."""
    return await service.update_partner(session, partner_id, patch)


@router.post("/partners/{partner_id}/deactivate", response_model=PartnerOut)
async def deactivate_partner(session: TenantSession, partner_id: uuid.UUID):
    """Deactivate a partner: kept with its history, offered to no new document."""
    return await service.set_active(session, partner_id, False)


@router.post("/partners/{partner_id}/activate", response_model=PartnerOut)
async def activate_partner(session: TenantSession, partner_id: uuid.UUID):
    """Reactivate a partner."""
    return await service.set_active(session, partner_id, True)


@router.get("/partners/{partner_id}/prices", response_model=Page[PriceOut])
async def list_prices(
    session: TenantSession,
    partner_id: uuid.UUID,
    page: Annotated[PageParams, Depends(page_params)],
    variant_id: uuid.UUID | None = None,
    side: PriceSide | None = None,
    on: Annotated[Day | None, Query(description="Only entries covering this date")] = None,
):
    """A partner's price entries, by SKU and newest first: with `variant_id`, `side` and `on`, the first item
    is the price in effect that day (what a document of that date takes)."""
    items, total = await service.list_prices(session, partner_id, variant_id=variant_id, side=side, on=on,
                                             limit=page.limit, offset=page.offset)
    return Page[PriceOut](items=items, total=total, limit=page.limit, offset=page.offset)


@router.post("/partners/{partner_id}/prices", response_model=PriceOut, status_code=201)
async def add_price(session: TenantSession, partner_id: uuid.UUID, data: PriceIn):
    """Add a partner price of a variant from a date (a later entry supersedes it from its own date)."""
    return await service.add_price(session, partner_id, data)


@router.delete("/partners/{partner_id}/prices/{price_id}", status_code=204)
async def delete_price(session: TenantSession, partner_id: uuid.UUID, price_id: uuid.UUID):
    """Remove a price entry entered by mistake."""
    await service.delete_price(session, partner_id, price_id)
    return Response(status_code=204)
