"""Purchasing JSON API (tenant host only): purchase requests, orders, goods receipts, supplier invoices,
purchase returns, landed costs and the AP aging. Reading needs purchasing.read, anything else purchasing.write."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from polyflow.erp.accounting import service as accounting
from polyflow.erp.identity.auth import CurrentUser, authorize
from polyflow.erp.payments import service as payments
from polyflow.erp.purchasing import service
from polyflow.erp.purchasing.schemas import (
    Aging, ConvertIn, InvoiceIn, InvoiceOut, LandedCostIn, LandedCostOut, OrderIn, OrderOut, ReceiptIn, ReceiptOut, RequestIn, RequestOut,
    ReturnIn, ReturnOut,
)
from polyflow.kit.limits import Day
from polyflow.kit.pagination import Page, PageParams, page_params
from polyflow.platform.tenancy.deps import TenantSession

router = APIRouter(prefix="/api/v1", tags=["purchasing"], dependencies=[authorize("purchasing")])
Pg = Annotated[PageParams, Depends(page_params)]


async def _page(session, kind: str, out, page: PageParams, **filters):
    items, total = await service.list_docs(session, kind, limit=page.limit, offset=page.offset, **filters)
    return Page[out](items=items, total=total, limit=page.limit, offset=page.offset)


# -- purchase requests ---------------------------------------------------------------------------------------


@router.get("/purchase-requests", response_model=Page[RequestOut])
async def list_requests(session: TenantSession, page: Pg, status: str | None = None):
    """Purchase requests, newest first."""
    return await _page(session, "request", RequestOut, page, status=status)


@router.post("/purchase-requests", response_model=RequestOut, status_code=201)
async def create_request(session: TenantSession, data: RequestIn, principal: CurrentUser):
    """A draft purchase request."""
    return await service.create_request(session, data, principal.id)


@router.get("/purchase-requests/{request_id}", response_model=RequestOut)
async def get_request(session: TenantSession, request_id: uuid.UUID):
    """One purchase request."""
    return await service.get_doc(session, "request", request_id)


@router.post("/purchase-requests/{request_id}/submit", response_model=RequestOut)
async def submit_request(session: TenantSession, request_id: uuid.UUID):
    """draft -> submitted (numbered)."""
    return await service.submit_request(session, request_id)


@router.post("/purchase-requests/{request_id}/approve", response_model=RequestOut)
async def approve_request(session: TenantSession, request_id: uuid.UUID, principal: CurrentUser):
    """submitted -> approved."""
    return await service.decide_request(session, request_id, True, principal.id)


@router.post("/purchase-requests/{request_id}/reject", response_model=RequestOut)
async def reject_request(session: TenantSession, request_id: uuid.UUID, principal: CurrentUser):
    """submitted -> rejected."""
    return await service.decide_request(session, request_id, False, principal.id)


@router.post("/purchase-requests/{request_id}/convert", response_model=OrderOut, status_code=201)
async def convert_request(session: TenantSession, request_id: uuid.UUID, data: ConvertIn, principal: CurrentUser):
    """approved -> converted: a draft purchase order to the given supplier."""
    return await service.convert_request(session, request_id, data, principal.id)


# -- purchase orders -----------------------------------------------------------------------------------------


@router.get("/purchase-orders", response_model=Page[OrderOut])
async def list_orders(session: TenantSession, page: Pg, status: str | None = None, partner_id: uuid.UUID | None = None):
    """Purchase orders, newest first."""
    return await _page(session, "order", OrderOut, page, status=status, partner_id=partner_id)


@router.post("/purchase-orders", response_model=OrderOut, status_code=201)
async def create_order(session: TenantSession, data: OrderIn, principal: CurrentUser):
    """A draft purchase order (prices default from the supplier's price list, tax PPN-IN)."""
    return await service.create_order(session, data, principal.id)


@router.get("/purchase-orders/{order_id}", response_model=OrderOut)
async def get_order(session: TenantSession, order_id: uuid.UUID):
    """One purchase order with what was received, invoiced and returned per line."""
    return await service.get_doc(session, "order", order_id)


@router.patch("/purchase-orders/{order_id}", response_model=OrderOut)
async def update_order(session: TenantSession, order_id: uuid.UUID, data: OrderIn):
    """Replace a draft order (409 once approved)."""
    return await service.update_order(session, order_id, data)


@router.post("/purchase-orders/{order_id}/approve", response_model=OrderOut)
async def approve_order(session: TenantSession, order_id: uuid.UUID, principal: CurrentUser):
    """draft -> approved (numbered)."""
    return await service.approve_order(session, order_id, principal.id)


@router.post("/purchase-orders/{order_id}/cancel", response_model=OrderOut)
async def cancel_order(session: TenantSession, order_id: uuid.UUID):
    """Cancel an order with nothing received."""
    return await service.cancel_order(session, order_id)


@router.post("/purchase-orders/{order_id}/close", response_model=OrderOut)
async def close_order(session: TenantSession, order_id: uuid.UUID):
    """Close a (partially) received order: no more receipts."""
    return await service.close_order(session, order_id)


# -- goods receipts ------------------------------------------------------------------------------------------


@router.get("/goods-receipts", response_model=Page[ReceiptOut])
async def list_receipts(session: TenantSession, page: Pg, order_id: uuid.UUID | None = None,
                        partner_id: uuid.UUID | None = None):
    """Goods receipts, newest first."""
    return await _page(session, "receipt", ReceiptOut, page, order_id=order_id, partner_id=partner_id)


@router.post("/goods-receipts", response_model=ReceiptOut, status_code=201)
async def create_receipt(session: TenantSession, data: ReceiptIn, principal: CurrentUser):
    """Receive goods against an approved order (posted at once: stock IN, Dr inventory / Cr 2120)."""
    return await service.create_receipt(session, data, principal.id)


@router.get("/goods-receipts/{receipt_id}", response_model=ReceiptOut)
async def get_receipt(session: TenantSession, receipt_id: uuid.UUID):
    """One goods receipt."""
    return await service.get_doc(session, "receipt", receipt_id)


# -- supplier invoices ---------------------------------------------------------------------------------------


@router.get("/purchase-invoices", response_model=Page[InvoiceOut])
async def list_invoices(session: TenantSession, page: Pg, status: str | None = None,
                        partner_id: uuid.UUID | None = None, order_id: uuid.UUID | None = None):
    """Supplier invoices, newest first."""
    return await _page(session, "invoice", InvoiceOut, page, status=status, partner_id=partner_id, order_id=order_id)


@router.post("/purchase-invoices", response_model=InvoiceOut, status_code=201)
async def create_invoice(session: TenantSession, data: InvoiceIn, principal: CurrentUser):
    """A draft supplier invoice matched to an order's received quantities."""
    return await service.create_invoice(session, data, principal.id)


@router.get("/purchase-invoices/{invoice_id}", response_model=InvoiceOut)
async def get_invoice(session: TenantSession, invoice_id: uuid.UUID):
    """One supplier invoice."""
    return await service.get_doc(session, "invoice", invoice_id)


@router.patch("/purchase-invoices/{invoice_id}", response_model=InvoiceOut)
async def update_invoice(session: TenantSession, invoice_id: uuid.UUID, data: InvoiceIn):
    """Replace a draft invoice (409 once posted)."""
    return await service.update_invoice(session, invoice_id, data)


@router.post("/purchase-invoices/{invoice_id}/post", response_model=InvoiceOut)
async def post_invoice(session: TenantSession, invoice_id: uuid.UUID, principal: CurrentUser):
    """draft -> open: numbered and posted (clears 2120, price difference, PPN Masukan, Hutang Usaha)."""
    return await service.post_invoice(session, invoice_id, principal.id)


@router.post("/purchase-invoices/{invoice_id}/cancel", response_model=InvoiceOut)
async def cancel_invoice(session: TenantSession, invoice_id: uuid.UUID):
    """Cancel a draft invoice."""
    return await service.cancel_invoice(session, invoice_id)


# -- purchase returns ----------------------------------------------------------------------------------------


@router.get("/purchase-returns", response_model=Page[ReturnOut])
async def list_returns(session: TenantSession, page: Pg, order_id: uuid.UUID | None = None,
                       partner_id: uuid.UUID | None = None):
    """Purchase returns, newest first."""
    return await _page(session, "return", ReturnOut, page, order_id=order_id, partner_id=partner_id)


@router.post("/purchase-returns", response_model=ReturnOut, status_code=201)
async def create_return(session: TenantSession, data: ReturnIn, principal: CurrentUser):
    """Return received goods to the supplier (posted at once; a debit note for what was invoiced)."""
    return await service.create_return(session, data, principal.id)


@router.get("/purchase-returns/{return_id}", response_model=ReturnOut)
async def get_return(session: TenantSession, return_id: uuid.UUID):
    """One purchase return."""
    return await service.get_doc(session, "return", return_id)


# -- landed costs --------------------------------------------------------------------------------------------


@router.get("/landed-costs", response_model=Page[LandedCostOut])
async def list_landed_costs(session: TenantSession, page: Pg):
    """Landed costs, newest first."""
    return await _page(session, "landed_cost", LandedCostOut, page)


@router.post("/landed-costs", response_model=LandedCostOut, status_code=201)
async def create_landed_cost(session: TenantSession, data: LandedCostIn, principal: CurrentUser):
    """Freight or duties on a receipt: allocated by value, added to the stock cost (Dr inventory / Cr 2150)."""
    return await service.create_landed_cost(session, data, principal.id)


@router.get("/landed-costs/{landed_cost_id}", response_model=LandedCostOut)
async def get_landed_cost(session: TenantSession, landed_cost_id: uuid.UUID):
    """One landed cost with its allocation."""
    return await service.get_doc(session, "landed_cost", landed_cost_id)


# -- reports -------------------------------------------------------------------------------------------------


@router.get("/reports/ap-aging", response_model=Aging)
async def ap_aging(session: TenantSession, as_of: Day | None = None):
    """Open supplier invoices by supplier and days past due (current, 1-30, 31-60, 61-90, >90) on a date."""
    # Payments allocate through this module, so its figures come in from here rather than by an import there.
    return await service.ap_aging(session, as_of or await accounting.local_today(session),
                                  settled_after=lambda s, day: payments.allocated_after(s, "out", day))
