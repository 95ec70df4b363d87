"""Inventory JSON API (tenant host only): locations, stock levels, movements, reservations, reports."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from polyflow.erp.accounting import seeds as coa
from polyflow.erp.inventory import service
from polyflow.erp.inventory.schemas import (
    History, LocationIn, LocationKind, LocationOut, LocationPatch, LowStockRow, MovementIn, MovementKind, MovementOut,
    ReservationIn, StockLevelOut, Valuation,
)
from polyflow.kit.errors import InvalidInput
from polyflow.kit.limits import Day
from polyflow.kit.pagination import CursorPage, Page, PageParams, keyset_params, page_params, report_params
from polyflow.erp.identity.auth import CurrentUser, authorize
from polyflow.platform.tenancy.deps import TenantSession

router = APIRouter(prefix="/api/v1", tags=["inventory"], dependencies=[authorize("inventory")])

Pg = Annotated[PageParams, Depends(page_params)]
Keyset = Annotated[PageParams, Depends(keyset_params)]
Report = Annotated[PageParams, Depends(report_params)]


@router.get("/locations", response_model=Page[LocationOut])
async def list_locations(
    session: TenantSession, page: Pg,
    q: Annotated[str | None, Query(max_length=100)] = None, kind: LocationKind | None = None,
    active: bool | None = None, sort: Literal["code", "-code", "name", "-name"] = "code",
):
    """Warehouses and production areas."""
    items, total = await service.list_locations(session, q=q, kind=kind, active=active, sort=sort, limit=page.limit,
                                                offset=page.offset)
    return Page[LocationOut](items=items, total=total, limit=page.limit, offset=page.offset)


@router.post("/locations", response_model=LocationOut, status_code=201)
async def create_location(session: TenantSession, data: LocationIn):
    """Add a location."""
    return await service.create_location(session, data)


@router.get("/locations/{location_id}", response_model=LocationOut)
async def get_location(session: TenantSession, location_id: uuid.UUID):
    """One location."""
    return await service.get_location(session, location_id)


@router.patch("/locations/{location_id}", response_model=LocationOut)
async def update_location(session: TenantSession, location_id: uuid.UUID, patch: LocationPatch):
    """Rename or (de)activate a location."""
    return await service.update_location(session, location_id, patch)


@router.get("/stock", response_model=Page[StockLevelOut])
async def list_stock(
    session: TenantSession, page: Pg,
    variant_id: uuid.UUID | None = None, location_id: uuid.UUID | None = None, product_id: uuid.UUID | None = None,
    q: Annotated[str | None, Query(max_length=100, description="Search SKU or name")] = None,
    nonzero: bool = False, sort: Literal["sku", "-sku", "location", "on_hand", "-on_hand"] = "sku",
):
    """Stock levels per (location, variant): on hand, reserved, available."""
    items, total = await service.list_levels(session, variant_id=variant_id, location_id=location_id,
                                             product_id=product_id, q=q, nonzero=nonzero, sort=sort,
                                             limit=page.limit, offset=page.offset)
    return Page[StockLevelOut](items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/stock/low", response_model=list[LowStockRow])
async def low_stock(session: TenantSession):
    """Variants below their minimum stock."""
    return await service.low_stock(session)


@router.get("/stock/valuation", response_model=Valuation)
async def stock_valuation(session: TenantSession, as_of: Day | None = None):
    """Stock value per variant and per inventory account at the end of a date (today by default)."""
    return await service.valuation(session, as_of or service.today())


@router.post("/stock/reservations", response_model=StockLevelOut)
async def reserve_stock(session: TenantSession, data: ReservationIn):
    """Reserve available stock."""
    return await service.reserve(session, data)


@router.post("/stock/reservations/release", response_model=StockLevelOut)
async def release_stock(session: TenantSession, data: ReservationIn):
    """Release a reservation."""
    return await service.release(session, data)


@router.post("/stock-movements", response_model=MovementOut, status_code=201)
async def create_movement(session: TenantSession, data: MovementIn, principal: CurrentUser):
    """Record a stock movement (and its journal, in the same transaction)."""
    if data.reason == "production" and (data.counter_account or coa.PERSEDIAAN_BDP).upper() == coa.PERSEDIAAN_BDP:
        # Against 1142 only a production order may move stock: its WIP sub-ledger is what holds the
        # other side (GL 1142 == intermediate stock + the orders' WIP). A bare one would break that.
        raise InvalidInput("material issued to production and what production makes are recorded on a production "
                           "order (POST /api/v1/production-orders/{id}/issue, /output or /scrap), which keeps its WIP; "
                           "a hand-valued production receipt must name its counter_account")
    return await service.create_movement(session, data, user_id=principal.id,
                                         may_choose_account=principal.can("accounting.write"))


@router.get("/stock-movements", response_model=CursorPage[MovementOut])
async def list_movements(
    session: TenantSession, page: Keyset,
    variant_id: uuid.UUID | None = None, location_id: uuid.UUID | None = None, kind: MovementKind | None = None,
    date_from: Day | None = None, date_to: Day | None = None,
    q: Annotated[str | None, Query(max_length=100, description="Search number or reference")] = None,
    sort: Literal["date", "-date", "number", "-number"] = "-date",
):
    """Stock movements, a page at a time (follow `next_cursor`)."""
    items, total, next_cursor = await service.list_movements(
        session, variant_id=variant_id, location_id=location_id, kind=kind, date_from=date_from, date_to=date_to,
        q=q, sort=sort, limit=page.limit, offset=page.offset, cursor=page.cursor)
    return CursorPage[MovementOut](items=items, total=total, limit=page.limit, offset=page.offset, next_cursor=next_cursor)


@router.get("/stock-movements/history/{variant_id}", response_model=History)
async def movement_history(session: TenantSession, variant_id: uuid.UUID, page: Report,
                           location_id: uuid.UUID | None = None):
    """A variant's movements with the running balance, a page at a time (follow `next_cursor`)."""
    return await service.history(session, variant_id, location_id, limit=page.limit, cursor=page.cursor)


@router.get("/stock-movements/{movement_id}", response_model=MovementOut)
async def get_movement(session: TenantSession, movement_id: uuid.UUID):
    """One stock movement."""
    return await service.get_movement(session, movement_id)
