"""Toll manufacturing (maklon) JSON API (tenant host only): toll orders, their material moves and balance,
and the customer material report. ``production.read`` to read, ``production.write`` for the rest; status
changes and moves are ``POST /toll-orders/{id}/<action>``."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Response

from polyflow.erp.identity.auth import CurrentUser, authorize
from polyflow.erp.models.toll import TOLL_STATES
from polyflow.erp.toll import service
from polyflow.erp.toll.schemas import (
    ConsumeIn, MovesIn, TollBalance, TollInvoiceIn, TollMaterialReport, TollOrderIn, TollOrderOut,
)
from polyflow.kit.limits import Day
from polyflow.kit.pagination import Page, PageParams, page_params
from polyflow.platform.tenancy.deps import TenantSession

router = APIRouter(prefix="/api/v1", tags=["toll manufacturing"], dependencies=[authorize("production")])

Pg = Annotated[PageParams, Depends(page_params)]
TollStatus = Literal[TOLL_STATES]  # type: ignore[valid-type]


@router.get("/toll-orders", response_model=Page[TollOrderOut])
async def list_toll_orders(session: TenantSession, page: Pg, customer_id: uuid.UUID | None = None,
                           status: TollStatus | None = None):
    """Toll orders, newest first."""
    items, total = await service.list_orders(session, customer_id=customer_id, status=status, limit=page.limit,
                                             offset=page.offset)
    return Page[TollOrderOut](items=items, total=total, limit=page.limit, offset=page.offset)


@router.post("/toll-orders", response_model=TollOrderOut, status_code=201)
async def create_toll_order(session: TenantSession, data: TollOrderIn, principal: CurrentUser):
    """A draft toll order."""
    return await service.create_order(session, data, principal.id)


@router.get("/toll-orders/{toll_order_id}", response_model=TollOrderOut)
async def get_toll_order(session: TenantSession, toll_order_id: uuid.UUID):
    """One toll order with its lines and moves."""
    return await service.get_order(session, toll_order_id)


@router.put("/toll-orders/{toll_order_id}", response_model=TollOrderOut)
async def update_toll_order(session: TenantSession, toll_order_id: uuid.UUID, data: TollOrderIn):
    """Replace a draft toll order."""
    return await service.update_order(session, toll_order_id, data)


@router.delete("/toll-orders/{toll_order_id}", status_code=204)
async def delete_toll_order(session: TenantSession, toll_order_id: uuid.UUID):
    """Delete a draft toll order."""
    await service.delete_order(session, toll_order_id)
    return Response(status_code=204)


@router.post("/toll-orders/{toll_order_id}/confirm", response_model=TollOrderOut)
async def confirm_toll_order(session: TenantSession, toll_order_id: uuid.UUID, principal: CurrentUser):
    """Confirm a draft: it gets its MKL number."""
    return await service.confirm_order(session, toll_order_id, principal.id)


@router.post("/toll-orders/{toll_order_id}/receive", response_model=TollOrderOut)
async def receive_material(session: TenantSession, toll_order_id: uuid.UUID, data: MovesIn, principal: CurrentUser):
    """The customer's material arrives (quantity only: no stock, no value)."""
    return await service.receive(session, toll_order_id, data, principal.id)


@router.post("/toll-orders/{toll_order_id}/consume", response_model=TollOrderOut)
async def consume_material(session: TenantSession, toll_order_id: uuid.UUID, data: ConsumeIn, principal: CurrentUser):
    """Material consumed and scrapped, finished goods produced (409 beyond the customer's balance)."""
    return await service.consume(session, toll_order_id, data, principal.id)


@router.post("/toll-orders/{toll_order_id}/deliver", response_model=TollOrderOut)
async def deliver_goods(session: TenantSession, toll_order_id: uuid.UUID, data: MovesIn, principal: CurrentUser):
    """Finished goods go back to the customer (409 beyond what was produced)."""
    return await service.deliver(session, toll_order_id, data, principal.id)


@router.post("/toll-orders/{toll_order_id}/return-leftover", response_model=TollOrderOut)
async def return_leftover(session: TenantSession, toll_order_id: uuid.UUID, data: MovesIn, principal: CurrentUser):
    """Unused material goes back to the customer (409 beyond what is on hand)."""
    return await service.return_leftover(session, toll_order_id, data, principal.id)


@router.post("/toll-orders/{toll_order_id}/complete", response_model=TollOrderOut)
async def complete_toll_order(session: TenantSession, toll_order_id: uuid.UUID):
    """Complete an order whose goods and leftover all went back."""
    return await service.complete(session, toll_order_id)


@router.post("/toll-orders/{toll_order_id}/invoice", response_model=TollOrderOut)
async def invoice_toll_order(session: TenantSession, toll_order_id: uuid.UUID, data: TollInvoiceIn,
                             principal: CurrentUser):
    """Invoice the service (sales invoice: Dr 1130 / Cr 4300 Pendapatan Jasa Maklon / Cr 2130 PPN)."""
    return await service.invoice(session, toll_order_id, data, principal.id)


@router.post("/toll-orders/{toll_order_id}/cancel", response_model=TollOrderOut)
async def cancel_toll_order(session: TenantSession, toll_order_id: uuid.UUID):
    """Cancel an order with nothing delivered and none of the customer's material left with us."""
    return await service.cancel(session, toll_order_id)


@router.get("/toll-orders/{toll_order_id}/balance", response_model=TollBalance)
async def toll_order_balance(session: TenantSession, toll_order_id: uuid.UUID, as_of: Day | None = None):
    """The order's material and goods per variant as of a date (default today)."""
    return await service.balance(session, toll_order_id, as_of)


@router.get("/reports/toll-material", response_model=TollMaterialReport)
async def toll_material_report(session: TenantSession, customer_id: uuid.UUID | None = None,
                               as_of: Day | None = None):
    """Customer-owned material per customer and variant as of a date (quantities only)."""
    return await service.material_report(session, customer_id, as_of)
