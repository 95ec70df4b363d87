"""Production runs, orders and shop-floor executions (JSON API, tenant host only). Reading needs
production.read, anything else production.write."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from polyflow.erp.accounting import service as accounting
from polyflow.erp.identity.auth import CurrentUser, authorize
from polyflow.erp.production.orders import executions, returns, service, voids
from polyflow.erp.production.orders.schemas import (
    CloseIn, ExecutionOut, IssueIn, OrderIn, OrderOut, OutputIn, Priority, ReturnIn, RunIn, RunOut, ScrapIn, Stage,
    Status, VoidIn, WipOut,
)
from polyflow.kit.limits import Day
from polyflow.kit.pagination import Page, PageParams, page_params
from polyflow.platform.tenancy.deps import TenantSession

router = APIRouter(prefix="/api/v1", tags=["production"], dependencies=[authorize("production")])
Pg = Annotated[PageParams, Depends(page_params)]


async def _order(session, order) -> OrderOut:
    return await service.order_out(session, order)


async def _execution(session, execution) -> ExecutionOut:
    return await service.execution_out(session, execution)


# -- runs ----------------------------------------------------------------------------------------------------


@router.get("/production-runs", response_model=Page[RunOut])
async def list_runs(session: TenantSession, page: Pg, status: Status | None = None, priority: Priority | None = None,
                    product_id: uuid.UUID | None = None, variant_id: uuid.UUID | None = None):
    """Production runs, newest first."""
    items, total = await service.list_runs(session, status=status, priority=priority, product_id=product_id,
                                           variant_id=variant_id, limit=page.limit, offset=page.offset)
    return Page[RunOut](items=items, total=total, limit=page.limit, offset=page.offset)


@router.post("/production-runs", response_model=RunOut, status_code=201)
async def create_run(session: TenantSession, data: RunIn, principal: CurrentUser):
    """A draft run with one draft order per step of the route (quantities worked back from the last step)."""
    run = await service.create_run(session, data, principal.id)
    return await service.run_out(session, run)


@router.get("/production-runs/{production_run_id}", response_model=RunOut)
async def get_run(session: TenantSession, production_run_id: uuid.UUID):
    """One run with its orders."""
    return await service.run_out(session, await service.get_run(session, production_run_id))


@router.post("/production-runs/{production_run_id}/release", response_model=RunOut)
async def release_run(session: TenantSession, production_run_id: uuid.UUID):
    """draft -> released: numbers, material lines, the first step's materials reserved."""
    return await service.run_out(session, await service.release_run(session, production_run_id))


@router.post("/production-runs/{production_run_id}/cancel", response_model=RunOut)
async def cancel_run(session: TenantSession, production_run_id: uuid.UUID):
    """Cancel a run and its orders (nothing issued or produced yet)."""
    return await service.run_out(session, await service.cancel_run(session, production_run_id))


# -- orders --------------------------------------------------------------------------------------------------


@router.get("/production-orders", response_model=Page[OrderOut])
async def list_orders(session: TenantSession, page: Pg, status: Status | None = None, priority: Priority | None = None,
                      stage: Stage | None = None, run_id: uuid.UUID | None = None,
                      product_id: uuid.UUID | None = None, variant_id: uuid.UUID | None = None):
    """Production orders, newest first."""
    items, total = await service.list_orders(session, status=status, priority=priority, stage=stage, run_id=run_id,
                                             product_id=product_id, variant_id=variant_id, limit=page.limit,
                                             offset=page.offset)
    return Page[OrderOut](items=items, total=total, limit=page.limit, offset=page.offset)


@router.post("/production-orders", response_model=OrderOut, status_code=201)
async def create_order(session: TenantSession, data: OrderIn, principal: CurrentUser):
    """A standalone draft order (a granulator's regrind order, a rework)."""
    return await _order(session, await service.create_order(session, data, principal.id))


@router.get("/production-orders/{production_order_id}", response_model=OrderOut)
async def get_order(session: TenantSession, production_order_id: uuid.UUID):
    """One order with its materials, costs (WIP by kind) and executions."""
    return await _order(session, await service.get_order(session, production_order_id))


@router.post("/production-orders/{production_order_id}/release", response_model=OrderOut)
async def release_order(session: TenantSession, production_order_id: uuid.UUID):
    """draft -> released: SPK number, materials from the BOM, reservations at the source location."""
    return await _order(session, await service.release_order(session, production_order_id))


@router.post("/production-orders/{production_order_id}/issue", response_model=OrderOut)
async def issue(session: TenantSession, production_order_id: uuid.UUID, data: IssueIn, principal: CurrentUser):
    """Issue materials into the order's WIP."""
    return await _order(session, await executions.issue_material(session, production_order_id, data, principal.id))


@router.post("/production-orders/{production_order_id}/return", response_model=OrderOut)
async def return_material(session: TenantSession, production_order_id: uuid.UUID, data: ReturnIn,
                          principal: CurrentUser):
    """Return unused material from the order to its source location at the order's average issued cost."""
    return await _order(session, await returns.return_material(session, production_order_id, data, principal.id))


@router.post("/production-orders/{production_order_id}/output", response_model=ExecutionOut, status_code=201)
async def output(session: TenantSession, production_order_id: uuid.UUID, data: OutputIn, principal: CurrentUser):
    """Record good output (a roll, a bale, a batch) with its conversion cost and lot."""
    return await _execution(session, await executions.record_output(session, production_order_id, data,
                                                                     principal.id))


@router.post("/production-orders/{production_order_id}/scrap", response_model=ExecutionOut, status_code=201)
async def scrap(session: TenantSession, production_order_id: uuid.UUID, data: ScrapIn, principal: CurrentUser):
    """Record scrap of a kind into scrap stock at its net realisable value."""
    return await _execution(session, await executions.record_scrap(session, production_order_id, data,
                                                                    principal.id))


@router.post("/production-orders/{production_order_id}/close", response_model=OrderOut)
async def close(session: TenantSession, production_order_id: uuid.UUID, principal: CurrentUser,
                data: CloseIn | None = None):
    """in_progress -> completed: the order's WIP cleared to the yield and price variances (PVR)."""
    return await _order(session, await service.close_order(session, production_order_id, data or CloseIn(),
                                                           principal.id))


@router.post("/production-orders/{production_order_id}/cancel", response_model=OrderOut)
async def cancel(session: TenantSession, production_order_id: uuid.UUID):
    """Cancel an order with nothing issued or produced; its reservations are given back."""
    return await _order(session, await service.cancel_order(session, production_order_id))


@router.get("/production-executions/{execution_id}", response_model=ExecutionOut)
async def get_execution(session: TenantSession, execution_id: uuid.UUID):
    """One shop-floor execution."""
    return await _execution(session, await executions.get_execution(session, execution_id))


@router.post("/production-executions/{execution_id}/void", response_model=ExecutionOut)
async def void(session: TenantSession, execution_id: uuid.UUID, data: VoidIn, principal: CurrentUser):
    """Void an execution: stock, lot and conversion journal reversed."""
    return await _execution(session, await voids.void_execution(session, execution_id, data, principal.id))


@router.get("/production-wip", response_model=WipOut)
async def wip(session: TenantSession, as_of: Day | None = None):
    """The WIP all production orders hold at the end of a date (default today)."""
    on = as_of or await accounting.local_today(session)
    return WipOut(as_of=on, wip=await service.wip_balance(session, on))
