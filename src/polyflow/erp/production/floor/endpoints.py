"""Production floor JSON API (tenant host only): machines and their downtime, shifts, operators, piece rates,
bills of materials and routes. Reading needs production.read, anything else production.write."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from polyflow.erp.identity.auth import CurrentUser, authorize
from polyflow.erp.production.floor import equipment, routes, service
from polyflow.erp.production.floor.schemas import (
    BomIn, BomOut, BomPatch, DowntimeEnd, DowntimeIn, DowntimeOut, Explosion, MachineIn, MachineOut, MachinePatch,
    MachineState, MachineType, OperatorIn, OperatorOut, OperatorPatch, PieceRateIn, PieceRateOut, RouteIn, RouteOut,
    RoutePatch, ShiftIn, ShiftOut, ShiftPatch, Stage,
)
from polyflow.kit.pagination import Page, PageParams, page_params
from polyflow.platform.tenancy.deps import TenantSession

router = APIRouter(prefix="/api/v1", tags=["production floor"], dependencies=[authorize("production")])
Pg = Annotated[PageParams, Depends(page_params)]
ExplodeQty = Annotated[Decimal | None, Query(gt=0, max_digits=18, decimal_places=3,
                                             description="output to explode (default: the BOM's output_quantity)")]


def _page(out, items_total, page: PageParams, convert=None):
    items, total = items_total
    return Page[out](items=[convert(i) for i in items] if convert else items, total=total, limit=page.limit,
                     offset=page.offset)


async def _bom(session, bom) -> dict:
    return (await service.bom_views(session, [bom]))[0]


# -- machines --------------------------------------------------------------------------------------------------


@router.get("/machines", response_model=Page[MachineOut])
async def list_machines(session: TenantSession, page: Pg, machine_type: MachineType | None = None,
                        status: MachineState | None = None):
    """Machines by code, optionally of one type and status."""
    return _page(MachineOut, await equipment.list_machines(session, machine_type=machine_type, status=status,
                                                           limit=page.limit, offset=page.offset), page)


@router.post("/machines", response_model=MachineOut, status_code=201)
async def create_machine(session: TenantSession, data: MachineIn):
    """A machine (work centre)."""
    return await equipment.create_machine(session, data)


@router.get("/machines/{machine_id}", response_model=MachineOut)
async def get_machine(session: TenantSession, machine_id: uuid.UUID):
    """One machine."""
    return await equipment.get_machine(session, machine_id)


@router.patch("/machines/{machine_id}", response_model=MachineOut)
async def update_machine(session: TenantSession, machine_id: uuid.UUID, data: MachinePatch):
    """Change a machine (status 'retired' instead of deleting it)."""
    return await equipment.update_machine(session, machine_id, data)


@router.get("/machines/{machine_id}/downtimes", response_model=Page[DowntimeOut])
async def list_downtimes(session: TenantSession, machine_id: uuid.UUID, page: Pg,
                         open: bool | None = None):  # noqa: A002 (the query parameter's name)
    """A machine's downtimes, latest first (open=true: those still running)."""
    return _page(DowntimeOut, await equipment.list_downtimes(session, machine_id, open_only=open, limit=page.limit,
                                                             offset=page.offset), page)


@router.post("/machines/{machine_id}/downtimes", response_model=DowntimeOut, status_code=201)
async def start_downtime(session: TenantSession, machine_id: uuid.UUID, data: DowntimeIn,
                         principal: CurrentUser):
    """Record a downtime (open until ended); one overlapping another of the machine is a 409."""
    return await equipment.start_downtime(session, machine_id, data, principal.id)


@router.post("/machines/{machine_id}/downtimes/{downtime_id}/end", response_model=DowntimeOut)
async def end_downtime(session: TenantSession, machine_id: uuid.UUID, downtime_id: uuid.UUID,
                       data: DowntimeEnd | None = None):
    """End an open downtime (now, or at ended_at)."""
    return await equipment.end_downtime(session, machine_id, downtime_id, data or DowntimeEnd())


# -- shifts and operators --------------------------------------------------------------------------------------


def _shift(shift) -> ShiftOut:
    return ShiftOut(id=shift.id, code=shift.code, name=shift.name, starts_at=shift.starts_at, ends_at=shift.ends_at,
                    crosses_midnight=shift.ends_at < shift.starts_at,
                    hours=equipment.shift_hours(shift.starts_at, shift.ends_at), is_active=shift.is_active)


@router.get("/shifts", response_model=Page[ShiftOut])
async def list_shifts(session: TenantSession, page: Pg, active: bool | None = None):
    """Shifts by start time."""
    return _page(ShiftOut, await equipment.list_shifts(session, active=active, limit=page.limit, offset=page.offset),
                 page, _shift)


@router.post("/shifts", response_model=ShiftOut, status_code=201)
async def create_shift(session: TenantSession, data: ShiftIn):
    """A shift (ends_at before starts_at: it runs past midnight)."""
    return _shift(await equipment.create_shift(session, data))


@router.get("/shifts/{shift_id}", response_model=ShiftOut)
async def get_shift(session: TenantSession, shift_id: uuid.UUID):
    """One shift."""
    return _shift(await equipment.get_shift(session, shift_id))


@router.patch("/shifts/{shift_id}", response_model=ShiftOut)
async def update_shift(session: TenantSession, shift_id: uuid.UUID, data: ShiftPatch):
    """Change a shift."""
    return _shift(await equipment.update_shift(session, shift_id, data))


@router.get("/operators", response_model=Page[OperatorOut])
async def list_operators(session: TenantSession, page: Pg, active: bool | None = None):
    """Operators by code."""
    return _page(OperatorOut, await equipment.list_operators(session, active=active, limit=page.limit,
                                                             offset=page.offset), page)


@router.post("/operators", response_model=OperatorOut, status_code=201)
async def create_operator(session: TenantSession, data: OperatorIn):
    """An operator (optionally linked to a user)."""
    return await equipment.create_operator(session, data)


@router.get("/operators/{operator_id}", response_model=OperatorOut)
async def get_operator(session: TenantSession, operator_id: uuid.UUID):
    """One operator."""
    return await equipment.get_operator(session, operator_id)


@router.patch("/operators/{operator_id}", response_model=OperatorOut)
async def update_operator(session: TenantSession, operator_id: uuid.UUID, data: OperatorPatch):
    """Change an operator."""
    return await equipment.update_operator(session, operator_id, data)


# -- piece rates -----------------------------------------------------------------------------------------------


@router.get("/piece-rates", response_model=Page[PieceRateOut])
async def list_piece_rates(session: TenantSession, page: Pg, stage: Stage | None = None,
                           product_id: uuid.UUID | None = None):
    """Piece rates by stage and product, latest first."""
    return _page(PieceRateOut, await equipment.list_piece_rates(session, stage=stage, product_id=product_id,
                                                                limit=page.limit, offset=page.offset), page)


@router.post("/piece-rates", response_model=PieceRateOut, status_code=201)
async def create_piece_rate(session: TenantSession, data: PieceRateIn):
    """A piece rate from valid_from (never edited: a change is a new rate with a later date)."""
    return await equipment.create_piece_rate(session, data)


# -- BOMs ------------------------------------------------------------------------------------------------------


@router.get("/boms", response_model=Page[BomOut])
async def list_boms(session: TenantSession, page: Pg, product_id: uuid.UUID | None = None,
                    stage: Stage | None = None, active: bool | None = None, is_default: bool | None = None):
    """BOM versions by product, newest first."""
    items, total = await service.list_boms(session, product_id=product_id, stage=stage, active=active,
                                           is_default=is_default, limit=page.limit, offset=page.offset)
    return _page(BomOut, (await service.bom_views(session, items), total), page)


@router.post("/boms", response_model=BomOut, status_code=201)
async def create_bom(session: TenantSession, data: BomIn, principal: CurrentUser):
    """A new BOM version of a product (make_default: it becomes the product's default)."""
    return await _bom(session, await service.create_bom(session, data, principal.id))


@router.get("/boms/{bom_id}", response_model=BomOut)
async def get_bom(session: TenantSession, bom_id: uuid.UUID):
    """One BOM version with its lines."""
    return await _bom(session, await service.get_bom(session, bom_id))


@router.patch("/boms/{bom_id}", response_model=BomOut)
async def update_bom(session: TenantSession, bom_id: uuid.UUID, data: BomPatch):
    """Rename or annotate a version (anything else: a new version)."""
    return await _bom(session, await service.update_bom(session, bom_id, data))


@router.post("/boms/{bom_id}/activate", response_model=BomOut)
async def activate_bom(session: TenantSession, bom_id: uuid.UUID):
    """archived -> active."""
    return await _bom(session, await service.activate_bom(session, bom_id))


@router.post("/boms/{bom_id}/archive", response_model=BomOut)
async def archive_bom(session: TenantSession, bom_id: uuid.UUID):
    """active -> archived (no longer the default)."""
    return await _bom(session, await service.archive_bom(session, bom_id))


@router.post("/boms/{bom_id}/make-default", response_model=BomOut)
async def make_default_bom(session: TenantSession, bom_id: uuid.UUID):
    """Make this version its product's default."""
    return await _bom(session, await service.make_default_bom(session, bom_id))


@router.get("/boms/{bom_id}/explode", response_model=Explosion)
async def explode_bom(session: TenantSession, bom_id: uuid.UUID, quantity: ExplodeQty = None):
    """Raw-material requirement of `quantity` through the default BOMs below, expected scrap applied."""
    return await service.explode_bom(session, bom_id, quantity)


# -- routes ----------------------------------------------------------------------------------------------------


@router.get("/routes", response_model=Page[RouteOut])
async def list_routes(session: TenantSession, page: Pg, product_id: uuid.UUID | None = None,
                      active: bool | None = None):
    """Routes by code."""
    items, total = await routes.list_routes(session, product_id=product_id, active=active, limit=page.limit,
                                             offset=page.offset)
    return _page(RouteOut, (await routes.route_views(session, items), total), page)


@router.post("/routes", response_model=RouteOut, status_code=201)
async def create_route(session: TenantSession, data: RouteIn):
    """A route of ordered steps (validated: outputs chain through the steps' BOMs, machines suit the stages)."""
    return await routes.route_view(session, await routes.create_route(session, data))


@router.get("/routes/{route_id}", response_model=RouteOut)
async def get_route(session: TenantSession, route_id: uuid.UUID):
    """One route with its steps."""
    return await routes.route_view(session, await routes.get_route(session, route_id))


@router.patch("/routes/{route_id}", response_model=RouteOut)
async def update_route(session: TenantSession, route_id: uuid.UUID, data: RoutePatch):
    """Rename, annotate or (de)activate a route."""
    return await routes.route_view(session, await routes.update_route(session, route_id, data))


@router.post("/routes/{route_id}/make-default", response_model=RouteOut)
async def make_default_route(session: TenantSession, route_id: uuid.UUID):
    """Make this route its product's default."""
    return await routes.route_view(session, await routes.make_default_route(session, route_id))
