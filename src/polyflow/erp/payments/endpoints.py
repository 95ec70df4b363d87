"""Payments JSON API (tenant host only).

Who may do what (finance records both directions; see erp/identity/permissions.py):
- customer receipts, ``/api/v1/payments/receipts``: ``sales.write`` or ``accounting.write`` to record or
  cancel, ``sales.read`` or ``accounting.read`` to read;
- supplier payments, ``/api/v1/payments/supplier-payments``: ``purchasing.write`` or ``accounting.write``,
  ``purchasing.read`` or ``accounting.read`` to read;
- ``GET /api/v1/payments``: both kinds, each shown only to those who may read it;
- ``/api/v1/reports/customer-statement``: ``sales.read`` or ``accounting.read``;
- ``/api/v1/tax/pph23-register``: ``accounting.read``.
"""

from __future__ import annotations

import time
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request

from polyflow.erp.identity.auth import CurrentUser, authorize, authorize_any
from polyflow.erp.payments import reports, service
from polyflow.erp.payments.schemas import (
    CancelIn, OpenItemOut, PaymentIn, PaymentOut, Pph23Register, Statement,
)
from polyflow.erp.payments.service import RECEIPT, SUPPLIER_PAYMENT
from polyflow.kit.limits import Day
from polyflow.kit.pagination import Page, PageParams, page_params
from polyflow.platform.entitlement_rules import denial
from polyflow.platform.tenancy.deps import TenantSession

Pg = Annotated[PageParams, Depends(page_params)]
Status = Literal["posted", "cancelled"]
READERS = {RECEIPT: "sales", SUPPLIER_PAYMENT: "purchasing"}


receipts = APIRouter(prefix="/api/v1/payments/receipts", tags=["payments"],
                     dependencies=[authorize_any("sales", "accounting")])
supplier_payments = APIRouter(prefix="/api/v1/payments/supplier-payments", tags=["payments"],
                              dependencies=[authorize_any("purchasing", "accounting")])


async def _list(session, direction: str, page: PageParams, **filters) -> Page[PaymentOut]:
    items, total = await service.list_payments(session, directions=(direction,), limit=page.limit,
                                               offset=page.offset, **filters)
    return Page[PaymentOut](items=items, total=total, limit=page.limit, offset=page.offset)


@receipts.get("", response_model=Page[PaymentOut])
async def list_receipts(session: TenantSession, page: Pg, partner_id: uuid.UUID | None = None,
                        status: Status | None = None, date_from: Day | None = None, date_to: Day | None = None):
    """Customer receipts, newest first."""
    return await _list(session, RECEIPT, page, partner_id=partner_id, status=status, date_from=date_from,
                       date_to=date_to)


@receipts.post("", response_model=PaymentOut, status_code=201)
async def create_receipt(session: TenantSession, data: PaymentIn, principal: CurrentUser):
    """Record and post a customer receipt with its allocations (409 above an invoice's open amount)."""
    return await service.create_payment(session, RECEIPT, data, principal.id)


@receipts.get("/open-items", response_model=list[OpenItemOut])
async def receipt_open_items(session: TenantSession, partner_id: uuid.UUID):
    """A customer's open invoices and credit notes (negative), by due date: what a receipt can settle."""
    return await service.open_items(session, RECEIPT, partner_id)


@receipts.get("/{customer_receipt_id}", response_model=PaymentOut)
async def get_receipt(session: TenantSession, customer_receipt_id: uuid.UUID):
    """One customer receipt."""
    return await service.get_payment(session, RECEIPT, customer_receipt_id)


@receipts.post("/{customer_receipt_id}/cancel", response_model=PaymentOut)
async def cancel_receipt(session: TenantSession, customer_receipt_id: uuid.UUID, principal: CurrentUser,
                         data: CancelIn | None = None):
    """Cancel a posted receipt: a reversing journal, the invoices re-opened."""
    return await service.cancel_payment(session, RECEIPT, customer_receipt_id, data or CancelIn(), principal.id)


@supplier_payments.get("", response_model=Page[PaymentOut])
async def list_supplier_payments(session: TenantSession, page: Pg, partner_id: uuid.UUID | None = None,
                                 status: Status | None = None, date_from: Day | None = None,
                                 date_to: Day | None = None):
    """Supplier payments, newest first."""
    return await _list(session, SUPPLIER_PAYMENT, page, partner_id=partner_id, status=status, date_from=date_from,
                       date_to=date_to)


@supplier_payments.post("", response_model=PaymentOut, status_code=201)
async def create_supplier_payment(session: TenantSession, data: PaymentIn, principal: CurrentUser):
    """Record and post a supplier payment with its allocations (409 above an invoice's open amount)."""
    return await service.create_payment(session, SUPPLIER_PAYMENT, data, principal.id)


@supplier_payments.get("/open-items", response_model=list[OpenItemOut])
async def supplier_open_items(session: TenantSession, partner_id: uuid.UUID):
    """A supplier's open invoices, by due date: what a supplier payment can settle."""
    return await service.open_items(session, SUPPLIER_PAYMENT, partner_id)


@supplier_payments.get("/{supplier_payment_id}", response_model=PaymentOut)
async def get_supplier_payment(session: TenantSession, supplier_payment_id: uuid.UUID):
    """One supplier payment."""
    return await service.get_payment(session, SUPPLIER_PAYMENT, supplier_payment_id)


@supplier_payments.post("/{supplier_payment_id}/cancel", response_model=PaymentOut)
async def cancel_supplier_payment(session: TenantSession, supplier_payment_id: uuid.UUID, principal: CurrentUser,
                                  data: CancelIn | None = None):
    """Cancel a posted supplier payment: a reversing journal, the invoices re-opened."""
    return await service.cancel_payment(session, SUPPLIER_PAYMENT, supplier_payment_id, data or CancelIn(),
                                        principal.id)


router = APIRouter(prefix="/api/v1", tags=["payments"])


def _may_read(request: Request, principal, module: str) -> bool:
    tenant = request.scope["state"]["tenant"]
    return any(principal.can(f"{m}.read") and denial(tenant, m, time.time()) is None for m in (module, "accounting"))


@router.get("/payments", response_model=Page[PaymentOut],
            dependencies=[authorize_any("sales", "purchasing", "accounting")])
async def list_payments(request: Request, session: TenantSession, principal: CurrentUser, page: Pg,
                        direction: Literal["in", "out"] | None = None, partner_id: uuid.UUID | None = None,
                        status: Status | None = None, date_from: Day | None = None, date_to: Day | None = None):
    """Receipts (`in`) and supplier payments (`out`), newest first; each kind only for those who may read it."""
    directions = tuple(d for d, m in READERS.items() if (direction in (None, d)) and _may_read(request, principal, m))
    if not directions:
        return Page[PaymentOut](items=[], total=0, limit=page.limit, offset=page.offset)
    items, total = await service.list_payments(session, directions=directions, partner_id=partner_id, status=status,
                                               date_from=date_from, date_to=date_to, limit=page.limit,
                                               offset=page.offset)
    return Page[PaymentOut](items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/reports/customer-statement", response_model=Statement,
            dependencies=[authorize_any("sales", "accounting")])
async def customer_statement(session: TenantSession, partner: uuid.UUID,
                             date_from: Annotated[Day | None, Query(alias="from")] = None,
                             date_to: Annotated[Day | None, Query(alias="to")] = None):
    """A customer's statement: opening balance, invoices, credit notes, receipts, closing balance (default: this
    month)."""
    return await reports.customer_statement(session, partner, date_from, date_to)


@router.get("/tax/pph23-register", response_model=Pph23Register, dependencies=[authorize("accounting")])
async def pph23_register(session: TenantSession, month: str):
    """PPh 23 withholding slips of a month: withheld by customers and withheld by us."""
    return await reports.pph23_register(session, month)
