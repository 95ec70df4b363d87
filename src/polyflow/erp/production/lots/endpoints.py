"""Lots and inspections JSON API (tenant host only): lots with their origin and traceability, opening lots,
quality inspections. Reading needs production.read, anything else production.write."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from polyflow.erp.identity.auth import CurrentUser, authorize
from polyflow.erp.production.lots import inspections, service
from polyflow.erp.production.lots.schemas import (
    Direction, InspectionIn, InspectionOut, InspectionResult, LotDetail, LotKind, LotOut, LotStatus, OpeningLotIn,
    TraceOut,
)
from polyflow.kit.limits import Day
from polyflow.kit.pagination import Page, PageParams, page_params
from polyflow.platform.tenancy.deps import TenantSession

router = APIRouter(prefix="/api/v1", tags=["production"], dependencies=[authorize("production")])
Pg = Annotated[PageParams, Depends(page_params)]
Text = Annotated[str | None, Query(min_length=1, max_length=64)]


@router.get("/lots", response_model=Page[LotOut])
async def list_lots(
    session: TenantSession, page: Pg, variant_id: uuid.UUID | None = None, sku: Text = None,
    kind: LotKind | None = None, status: LotStatus | None = None, supplier_lot_no: Text = None,
    location: Annotated[str | None, Query(min_length=1, max_length=64, description="Location id or code")] = None,
    produced_from: Day | None = None, produced_to: Day | None = None,
    q: Annotated[str | None, Query(max_length=64, description="Part of the lot or supplier lot number")] = None,
):
    """Lots (supplier lots, rolls, bales, batches, regrind), newest first."""
    items, total = await service.list_lots(
        session, variant_id=variant_id, sku=sku, kind=kind, status=status, supplier_lot_no=supplier_lot_no,
        location=location, produced_from=produced_from, produced_to=produced_to, q=q, limit=page.limit,
        offset=page.offset)
    return Page[LotOut](items=items, total=total, limit=page.limit, offset=page.offset)


@router.post("/lots", response_model=LotDetail, status_code=201)
async def create_opening_lot(session: TenantSession, data: OpeningLotIn):
    """A lot for stock already on hand (opening balance with its lot number); moves no stock."""
    return await service.create_opening_lot(session, data)


@router.get("/lots/{lot_id}", response_model=LotDetail)
async def get_lot(session: TenantSession, lot_id: uuid.UUID):
    """One lot with its origin (receipt or execution), its consumption by orders and its inspections."""
    return await service.get_lot(session, lot_id)


@router.get("/lots/{lot_id}/trace", response_model=TraceOut)
async def trace_lot(
    session: TenantSession, lot_id: uuid.UUID, direction: Direction = "both",
    max_depth: Annotated[int, Query(ge=1, le=service.MAX_TRACE_DEPTH,
                                    description="Steps (lot -> order -> lot ...) to walk")] = service.MAX_TRACE_DEPTH,
):
    """Traceability: back to the orders, machines, operators and supplier lots; forward to every lot made from it."""
    return await service.trace(session, lot_id, direction, max_depth)


@router.get("/inspections", response_model=Page[InspectionOut])
async def list_inspections(session: TenantSession, page: Pg, lot_id: uuid.UUID | None = None,
                           result: InspectionResult | None = None, date_from: Day | None = None,
                           date_to: Day | None = None):
    """Quality inspections, newest first."""
    items, total = await inspections.list_inspections(session, lot_id=lot_id, result=result, date_from=date_from,
                                                      date_to=date_to, limit=page.limit, offset=page.offset)
    return Page[InspectionOut](items=items, total=total, limit=page.limit, offset=page.offset)


@router.post("/inspections", response_model=InspectionOut, status_code=201)
async def create_inspection(session: TenantSession, data: InspectionIn, principal: CurrentUser):
    """Inspect a lot: quarantine (stock held in KARANTINA), pass (released) or fail (scrapped, or kept for regrind)."""
    return await inspections.inspect(session, data, principal.id)


@router.get("/inspections/{inspection_id}", response_model=InspectionOut)
async def get_inspection(session: TenantSession, inspection_id: uuid.UUID):
    """One inspection."""
    return await inspections.get_inspection(session, inspection_id)
