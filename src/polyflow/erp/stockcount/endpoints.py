"""Stock count (stock opname) JSON API (tenant host only): ``inventory.read`` to read, ``inventory.write`` for
every change (open, record entries, submit, approve, cancel)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Depends

from polyflow.erp.identity.auth import CurrentUser, authorize
from polyflow.erp.stockcount import service
from polyflow.erp.stockcount.schemas import (
    MAX_ENTRIES, ApproveIn, CancelIn, CountStatus, EntryIn, StockCountIn, StockCountOut, StockCountSummary, Variances,
)
from polyflow.kit.pagination import Page, PageParams, page_params
from polyflow.platform.tenancy.deps import TenantSession

router = APIRouter(prefix="/api/v1/stock-counts", tags=["stock counts"], dependencies=[authorize("inventory")])

Pg = Annotated[PageParams, Depends(page_params)]
Entries = Annotated[list[EntryIn], Body(min_length=1, max_length=MAX_ENTRIES)]


@router.get("", response_model=Page[StockCountSummary])
async def list_counts(session: TenantSession, page: Pg, status: CountStatus | None = None,
                      location_id: uuid.UUID | None = None):
    """Stock counts, newest first."""
    items, total = await service.list_counts(session, status=status, location_id=location_id, limit=page.limit,
                                             offset=page.offset)
    return Page[StockCountSummary](items=items, total=total, limit=page.limit, offset=page.offset)


@router.post("", response_model=StockCountOut, status_code=201)
async def create_count(session: TenantSession, data: StockCountIn, principal: CurrentUser):
    """Open a count of a location: its snapshot lines and watermark."""
    return await service.count_out(session, await service.create_count(session, data, principal.id))


@router.get("/{stock_count_id}", response_model=StockCountOut)
async def get_count(session: TenantSession, stock_count_id: uuid.UUID):
    """One count; blind (no expected quantities) while open."""
    return await service.count_out(session, await service.get_count(session, stock_count_id))


@router.post("/{stock_count_id}/entries", response_model=StockCountOut)
async def add_entries(session: TenantSession, stock_count_id: uuid.UUID, entries: Entries, principal: CurrentUser):
    """Record counted quantities (several per variant are summed)."""
    return await service.count_out(session, await service.add_entries(session, stock_count_id, entries, principal.id))


@router.post("/{stock_count_id}/submit", response_model=StockCountOut)
async def submit_count(session: TenantSession, stock_count_id: uuid.UUID, principal: CurrentUser):
    """Close counting: expected quantities and variances become visible."""
    return await service.count_out(session, await service.submit_count(session, stock_count_id, principal.id))


@router.get("/{stock_count_id}/variances", response_model=Variances)
async def variances(session: TenantSession, stock_count_id: uuid.UUID):
    """Variance quantity and value per line (after submission)."""
    return await service.variances(session, stock_count_id)


@router.post("/{stock_count_id}/approve", response_model=StockCountOut)
async def approve_count(session: TenantSession, stock_count_id: uuid.UUID, principal: CurrentUser,
                        data: ApproveIn | None = None):
    """Post the adjustments (one per non-zero variance) and close the count."""
    count = await service.approve_count(session, stock_count_id, data or ApproveIn(), principal.id)
    return await service.count_out(session, count)


@router.post("/{stock_count_id}/cancel", response_model=StockCountOut)
async def cancel_count(session: TenantSession, stock_count_id: uuid.UUID, principal: CurrentUser,
                       data: CancelIn | None = None):
    """Cancel before approval; nothing is posted."""
    return await service.count_out(session, await service.cancel_count(session, stock_count_id, data or CancelIn(),
                                                                       principal.id))
