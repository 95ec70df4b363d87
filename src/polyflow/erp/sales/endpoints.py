"""Sales JSON API (tenant host only): quotations, sales orders, deliveries, sales invoices, sales returns,
credit notes and the AR aging report. ``sales.read`` to read, ``sales.write`` for the rest; status changes
are ``POST /<docs>/{id}/<action>``."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Response

from polyflow.erp.identity.auth import CurrentUser, authorize
from polyflow.erp.payments import service as payments
from polyflow.erp.models.sales import DOC_STATES, INVOICE_STATES, ORDER_STATES, QUOTATION_STATES
from polyflow.erp.sales import service
from polyflow.erp.sales.schemas import (
    Aging, ConvertIn, DeliveryIn, DeliveryOut, InvoiceIn, InvoiceOut, QuotationIn, QuotationOut, ReturnIn,
    ReturnOut, SalesOrderIn, SalesOrderOut,
)
from polyflow.kit.limits import Day
from polyflow.kit.pagination import Page, PageParams, page_params
from polyflow.platform.tenancy.deps import TenantSession

router = APIRouter(prefix="/api/v1", tags=["sales"], dependencies=[authorize("sales")])

Pg = Annotated[PageParams, Depends(page_params)]
QuotationStatus = Literal[QUOTATION_STATES]  # type: ignore[valid-type]
OrderStatus = Literal[ORDER_STATES]  # type: ignore[valid-type]
DocStatus = Literal[DOC_STATES]  # type: ignore[valid-type]
InvoiceStatus = Literal[INVOICE_STATES]  # type: ignore[valid-type]


def _page(model, items, total, page: PageParams):
    return Page[model](items=items, total=total, limit=page.limit, offset=page.offset)


# -- quotations ----------------------------------------------------------------------------------


@router.get("/quotations", response_model=Page[QuotationOut])
async def list_quotations(session: TenantSession, page: Pg, customer_id: uuid.UUID | None = None,
                          status: QuotationStatus | None = None):
    """Quotations, newest first."""
    items, total = await service.list_quotations(session, customer_id=customer_id, status=status, limit=page.limit,
                                                 offset=page.offset)
    return _page(QuotationOut, items, total, page)


@router.post("/quotations", response_model=QuotationOut, status_code=201)
async def create_quotation(session: TenantSession, data: QuotationIn, principal: CurrentUser):
    """A draft quotation."""
    return await service.create_quotation(session, data, principal.id)


@router.get("/quotations/{quotation_id}", response_model=QuotationOut)
async def get_quotation(session: TenantSession, quotation_id: uuid.UUID):
    """One quotation."""
    return await service.get_quotation(session, quotation_id)


@router.put("/quotations/{quotation_id}", response_model=QuotationOut)
async def update_quotation(session: TenantSession, quotation_id: uuid.UUID, data: QuotationIn):
    """Replace a draft quotation."""
    return await service.update_quotation(session, quotation_id, data)


@router.delete("/quotations/{quotation_id}", status_code=204)
async def delete_quotation(session: TenantSession, quotation_id: uuid.UUID):
    """Delete a draft quotation."""
    await service.delete_quotation(session, quotation_id)
    return Response(status_code=204)


@router.post("/quotations/{quotation_id}/send", response_model=QuotationOut)
async def send_quotation(session: TenantSession, quotation_id: uuid.UUID):
    """Send a draft quotation to the customer (it gets its number)."""
    return await service.quotation_action(session, quotation_id, "send")


@router.post("/quotations/{quotation_id}/accept", response_model=QuotationOut)
async def accept_quotation(session: TenantSession, quotation_id: uuid.UUID):
    """The customer accepted a sent quotation."""
    return await service.quotation_action(session, quotation_id, "accept")


@router.post("/quotations/{quotation_id}/reject", response_model=QuotationOut)
async def reject_quotation(session: TenantSession, quotation_id: uuid.UUID):
    """The customer rejected a sent quotation."""
    return await service.quotation_action(session, quotation_id, "reject")


@router.post("/quotations/{quotation_id}/expire", response_model=QuotationOut)
async def expire_quotation(session: TenantSession, quotation_id: uuid.UUID):
    """A sent quotation lapsed."""
    return await service.quotation_action(session, quotation_id, "expire")


@router.post("/quotations/{quotation_id}/convert", response_model=SalesOrderOut, status_code=201)
async def convert_quotation(session: TenantSession, quotation_id: uuid.UUID, data: ConvertIn,
                            principal: CurrentUser):
    """A draft sales order from an accepted quotation."""
    return await service.convert_quotation(session, quotation_id, data, principal.id)


# -- sales orders --------------------------------------------------------------------------------


@router.get("/sales-orders", response_model=Page[SalesOrderOut])
async def list_orders(session: TenantSession, page: Pg, customer_id: uuid.UUID | None = None,
                      status: OrderStatus | None = None):
    """Sales orders, newest first."""
    items, total = await service.list_orders(session, customer_id=customer_id, status=status, limit=page.limit,
                                             offset=page.offset)
    return _page(SalesOrderOut, items, total, page)


@router.post("/sales-orders", response_model=SalesOrderOut, status_code=201)
async def create_order(session: TenantSession, data: SalesOrderIn, principal: CurrentUser):
    """A draft sales order (prices default from the customer's price list, tax code PPN)."""
    return await service.create_order(session, data, principal.id)


@router.get("/sales-orders/{sales_order_id}", response_model=SalesOrderOut)
async def get_order(session: TenantSession, sales_order_id: uuid.UUID):
    """One sales order with its lines' reserved, delivered, invoiced and returned quantities."""
    return await service.get_order(session, sales_order_id)


@router.put("/sales-orders/{sales_order_id}", response_model=SalesOrderOut)
async def update_order(session: TenantSession, sales_order_id: uuid.UUID, data: SalesOrderIn):
    """Replace a draft sales order (409 once confirmed)."""
    return await service.update_order(session, sales_order_id, data)


@router.delete("/sales-orders/{sales_order_id}", status_code=204)
async def delete_order(session: TenantSession, sales_order_id: uuid.UUID):
    """Delete a draft sales order."""
    await service.delete_order(session, sales_order_id)
    return Response(status_code=204)


@router.post("/sales-orders/{sales_order_id}/confirm", response_model=SalesOrderOut)
async def confirm_order(session: TenantSession, sales_order_id: uuid.UUID, principal: CurrentUser):
    """Confirm: credit-limit check, number, stock reserved where available."""
    return await service.confirm_order(session, sales_order_id, principal.id)


@router.post("/sales-orders/{sales_order_id}/cancel", response_model=SalesOrderOut)
async def cancel_order(session: TenantSession, sales_order_id: uuid.UUID):
    """Cancel an order with nothing delivered (reservations released)."""
    return await service.cancel_order(session, sales_order_id)


@router.post("/sales-orders/{sales_order_id}/close", response_model=SalesOrderOut)
async def close_order(session: TenantSession, sales_order_id: uuid.UUID):
    """Close an order after deliveries: the rest will not be delivered (reservations released)."""
    return await service.close_order(session, sales_order_id)


# -- deliveries ----------------------------------------------------------------------------------


@router.get("/deliveries", response_model=Page[DeliveryOut])
async def list_deliveries(session: TenantSession, page: Pg, customer_id: uuid.UUID | None = None,
                          order_id: uuid.UUID | None = None, status: DocStatus | None = None):
    """Deliveries (surat jalan), newest first."""
    items, total = await service.list_deliveries(session, customer_id=customer_id, status=status, order_id=order_id,
                                                 limit=page.limit, offset=page.offset)
    return _page(DeliveryOut, await service.with_current_cost(session, items), total, page)


@router.post("/deliveries", response_model=DeliveryOut, status_code=201)
async def create_delivery(session: TenantSession, data: DeliveryIn, principal: CurrentUser):
    """A draft delivery of a confirmed order."""
    return await service.create_delivery(session, data, principal.id)


@router.get("/deliveries/{delivery_id}", response_model=DeliveryOut)
async def get_delivery(session: TenantSession, delivery_id: uuid.UUID):
    """One delivery; a posted line's cost is its stock movement's value now (re-costing included)."""
    return (await service.with_current_cost(session, [await service.get_delivery(session, delivery_id)]))[0]


@router.delete("/deliveries/{delivery_id}", status_code=204)
async def delete_delivery(session: TenantSession, delivery_id: uuid.UUID):
    """Delete a draft delivery."""
    await service.delete_delivery(session, delivery_id)
    return Response(status_code=204)


@router.post("/deliveries/{delivery_id}/post", response_model=DeliveryOut)
async def post_delivery(session: TenantSession, delivery_id: uuid.UUID, principal: CurrentUser):
    """Post: stock out at moving-average cost (HPP), reservation released."""
    return await service.post_delivery(session, delivery_id, principal.id)


# -- invoices and credit notes -------------------------------------------------------------------


@router.get("/sales-invoices", response_model=Page[InvoiceOut])
async def list_invoices(session: TenantSession, page: Pg, customer_id: uuid.UUID | None = None,
                        order_id: uuid.UUID | None = None, status: InvoiceStatus | None = None):
    """Sales invoices, newest first."""
    items, total = await service.list_invoices(session, customer_id=customer_id, status=status, order_id=order_id,
                                               limit=page.limit, offset=page.offset)
    return _page(InvoiceOut, items, total, page)


@router.post("/sales-invoices", response_model=InvoiceOut, status_code=201)
async def create_invoice(session: TenantSession, data: InvoiceIn, principal: CurrentUser):
    """A draft invoice of delivered, not yet invoiced goods."""
    return await service.create_invoice(session, data, principal.id)


@router.get("/sales-invoices/{sales_invoice_id}", response_model=InvoiceOut)
async def get_invoice(session: TenantSession, sales_invoice_id: uuid.UUID):
    """One sales invoice."""
    return await service.get_invoice(session, sales_invoice_id)


@router.delete("/sales-invoices/{sales_invoice_id}", status_code=204)
async def delete_invoice(session: TenantSession, sales_invoice_id: uuid.UUID):
    """Delete a draft invoice."""
    await service.delete_invoice(session, sales_invoice_id)
    return Response(status_code=204)


@router.post("/sales-invoices/{sales_invoice_id}/post", response_model=InvoiceOut)
async def post_invoice(session: TenantSession, sales_invoice_id: uuid.UUID, principal: CurrentUser):
    """Post: Dr 1130 Piutang / Cr 4100 Pendapatan / Cr 2130 PPN Keluaran."""
    return await service.post_invoice(session, sales_invoice_id, principal.id)


@router.get("/credit-notes", response_model=Page[InvoiceOut])
async def list_credit_notes(session: TenantSession, page: Pg, customer_id: uuid.UUID | None = None,
                            order_id: uuid.UUID | None = None, status: InvoiceStatus | None = None):
    """Credit notes (posted by sales returns), newest first."""
    items, total = await service.list_credit_notes(session, customer_id=customer_id, status=status,
                                                   order_id=order_id, limit=page.limit, offset=page.offset)
    return _page(InvoiceOut, items, total, page)


@router.get("/credit-notes/{credit_note_id}", response_model=InvoiceOut)
async def get_credit_note(session: TenantSession, credit_note_id: uuid.UUID):
    """One credit note."""
    return await service.get_credit_note(session, credit_note_id)


# -- returns -------------------------------------------------------------------------------------


@router.get("/sales-returns", response_model=Page[ReturnOut])
async def list_returns(session: TenantSession, page: Pg, customer_id: uuid.UUID | None = None,
                       status: DocStatus | None = None):
    """Sales returns, newest first."""
    items, total = await service.list_returns(session, customer_id=customer_id, status=status, limit=page.limit,
                                              offset=page.offset)
    return _page(ReturnOut, items, total, page)


@router.post("/sales-returns", response_model=ReturnOut, status_code=201)
async def create_return(session: TenantSession, data: ReturnIn, principal: CurrentUser):
    """A draft return of delivered goods against a posted invoice."""
    return await service.create_return(session, data, principal.id)


@router.get("/sales-returns/{sales_return_id}", response_model=ReturnOut)
async def get_return(session: TenantSession, sales_return_id: uuid.UUID):
    """One sales return."""
    return await service.get_return(session, sales_return_id)


@router.delete("/sales-returns/{sales_return_id}", status_code=204)
async def delete_return(session: TenantSession, sales_return_id: uuid.UUID):
    """Delete a draft return."""
    await service.delete_return(session, sales_return_id)
    return Response(status_code=204)


@router.post("/sales-returns/{sales_return_id}/post", response_model=ReturnOut)
async def post_return(session: TenantSession, sales_return_id: uuid.UUID, principal: CurrentUser):
    """Post: goods back in at the cost they left with, credit note posted and applied to the invoice."""
    return await service.post_return(session, sales_return_id, principal.id)


# -- reports -------------------------------------------------------------------------------------


@router.get("/reports/ar-aging", response_model=Aging)
async def ar_aging(session: TenantSession, as_of: Day | None = None):
    """Open receivables per customer by days past due (current, 1-30, 31-60, 61-90, over 90)."""
    # Payments allocate through this module, so its figures come in from here rather than by an import there.
    return await service.ar_aging(session, as_of,
                                  settled_after=lambda s, day: payments.allocated_after(s, "in", day))
