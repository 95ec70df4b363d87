"""Sales order pages: the list, the new-order form (a fixed number of line rows, more through ?lines=), and the
order with its status flow and the actions allowed in its state (confirm, cancel, close, deliver, invoice)."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.models.sales import ORDER_STATES
from polyflow.erp.pages import html_page, page, see_other, signed_form, signed_in, validation_message
from polyflow.erp.sales import service
from polyflow.erp.sales.pages.common import (
    date_param, location_choices, notice, partner_choices, partner_names, path_id, sales_tax_choices, uuid_param,
    variant_choices,
)
from polyflow.erp.sales.schemas import PricedLineIn, SalesOrderIn
from polyflow.kit.errors import PolyflowError
from polyflow.platform.tenancy.deps import TenantSession
from polyflow.web import fmt
from polyflow.web.forms import Form
from polyflow.web.i18n import _
from polyflow.web.lists import Column, Filter, ListParams, list_response

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

LINE_ROWS = 8  # empty line rows of a new order; "add more lines" adds as many again
MAX_ROWS = 200  # the API's limit of lines per order
ORDER_FLOW = ("draft", "confirmed", "partially_delivered", "delivered", "invoiced", "closed")
STATUS_OPTIONS = tuple((s, fmt.STATUS_LABELS.get(s, s)) for s in ORDER_STATES)
DONE = {"created": "The sales order was saved as a draft.", "confirmed": "The sales order is confirmed.",
        "cancelled": "The sales order is cancelled.", "closed": "The sales order is closed.",
        "deleted": "The draft was deleted."}


def _flow(status: str) -> list[tuple[str, str]]:
    steps = ("draft", "cancelled") if status == "cancelled" else ORDER_FLOW
    return [(s, fmt.status_label(s)) for s in steps]


@router.get("/sales-orders")
@html_page
async def orders(request: Request, session: TenantSession):
    """Sales orders: search (number, customer), status, customer and date filters, sort, CSV/Excel export."""
    await signed_in(request, session, "sales.read")
    p = ListParams.from_request(request, sorts=tuple(service.ORDER_SORTS), default_sort="-date")
    customer = p.filter("customer")
    status = p.filter("status")
    items, total = await service.list_orders(
        session, customer_id=uuid_param(customer), status=status if status in ORDER_STATES else None,
        q=p.q or None, date_from=date_param(p, "from"), date_to=date_param(p, "to"), sort=p.order,
        limit=p.limit, offset=p.offset)
    names = await partner_names(session, items)
    rows = [{"id": o.id, "number": o.number or _("Draft"), "date": o.order_date,
             "customer": names[o.customer_id].name if o.customer_id in names else "",
             "reference": o.customer_reference, "status": o.status, "base": o.base, "tax": o.tax, "total": o.total}
            for o in items]
    columns = [
        Column("number", _("Number"), sort="number", href=lambda r: f"/sales-orders/{r['id']}"),
        Column("date", _("Date"), "date", sort="date"),
        Column("customer", _("Customer")),
        Column("reference", _("Customer PO")),
        Column("status", _("Status"), "status", sort="status"),
        Column("base", _("DPP"), "money"),
        Column("tax", _("PPN"), "money"),
        Column("total", _("Total"), "money", sort="total"),
    ]
    filters = [Filter("status", "Status", STATUS_OPTIONS),
               Filter("customer", "Customer", await partner_choices(session, customers=True)),
               Filter("from", "From", kind="date"), Filter("to", "To", kind="date")]
    viewer = request.state.viewer
    actions = [(_("New sales order"), "/sales-orders/new")] if viewer.may("sales.write") else []
    return list_response(request, p, title=_("Sales orders"), columns=columns, rows=rows, total=total,
                         filters=filters, actions=actions, filename="sales-orders",
                         placeholder=_("Number or customer"), notice=notice(request, DONE))


def _rows(request: Request, form: Form | None) -> int:
    """How many line rows the form shows: what was posted, or ?lines= (more lines), at least LINE_ROWS."""
    typed = form.raw("rows") if form is not None else request.query_params.get("lines", "")
    try:
        wanted = int(typed)
    except ValueError:
        wanted = LINE_ROWS
    return max(LINE_ROWS, min(wanted, MAX_ROWS))


async def _form_page(request: Request, session: AsyncSession, form: Form, status_code: int = 200, *,
                     rows: int | None = None) -> HTMLResponse:
    today = fmt.today()
    rows = rows or _rows(request, form if form.data else None)
    return page(request, "tenant/sales/order_form.html", status_code, title=_("New sales order"), form=form,
                rows=rows, more=min(rows + LINE_ROWS, MAX_ROWS),
                customers=await partner_choices(session, customers=True),
                locations=await location_choices(session), variants=await variant_choices(session),
                tax_codes=await sales_tax_choices(session, today) or [("PPN", "PPN")])


@router.get("/sales-orders/new")
@html_page
async def new_order(request: Request, session: TenantSession):
    """The new-order form: customer, date, location, and line rows (product, quantity, price, tax code)."""
    await signed_in(request, session, "sales.write")
    customer = request.query_params.get("customer", "")
    return await _form_page(request, session, Form({"order_date": fmt.today().isoformat(), "customer_id": customer}))


def _read_lines(f: Form, rows: int) -> list[PricedLineIn]:
    lines = []
    for i in range(rows):
        names = (f"variant_{i}", f"qty_{i}", f"price_{i}", f"disc_{i}")
        if not any(f.raw(n).strip() for n in names):
            continue  # an empty row
        variant_id = f.uuid(f"variant_{i}", required=True)
        quantity = f.number(f"qty_{i}", required=True, positive=True, places=3)
        price = f.number(f"price_{i}", min=0, places=2)
        discount = f.number(f"disc_{i}", min=0, max=100, places=2)
        code = f.text(f"tax_{i}", max_length=20) or "PPN"
        if variant_id is not None and quantity is not None and f.ok:
            lines.append(PricedLineIn(variant_id=variant_id, quantity=quantity, unit_price=price,
                                      discount_percent=discount or Decimal(0), tax_code=code))
    return lines


@router.post("/sales-orders")
@html_page
async def create_order(request: Request, session: TenantSession):
    """Save a new draft order from the form; the form again (422/409) with what was typed and the reasons."""
    principal = await signed_in(request, session, "sales.write")
    f = Form(await signed_form(request, principal))
    if f.bool("more"):  # "add more lines": the same form with more empty rows, nothing saved
        return await _form_page(request, session, f, rows=min(_rows(request, f) + LINE_ROWS, MAX_ROWS))
    customer_id = f.uuid("customer_id", required=True)
    order_date = f.date("order_date", required=True)
    location = f.uuid("location", required=True)
    reference = f.text("customer_reference", max_length=100) or None
    note = f.text("note", max_length=2000, multiline=True) or None
    inclusive = f.bool("prices_include_tax")
    lines = _read_lines(f, _rows(request, f))
    if f.ok and not lines:
        f.fail("__all__", _("Add at least one line: a product and its quantity."))
    if not f.ok:
        return await _form_page(request, session, f, 422)
    try:
        data = SalesOrderIn(customer_id=customer_id, order_date=order_date, location=str(location),
                            customer_reference=reference, note=note, prices_include_tax=inclusive, lines=lines)
    except ValidationError as exc:
        f.fail("__all__", validation_message(exc))
        return await _form_page(request, session, f, 422)
    try:
        order = await service.create_order(session, data, principal.user.id)
    except PolyflowError as exc:
        await session.rollback()
        f.fail("__all__", exc.message)
        return await _form_page(request, session, f, exc.status_code)
    return see_other(f"/sales-orders/{order.id}?done=created")


@router.get("/sales-orders/{order_id}")
@html_page
async def order(request: Request, session: TenantSession, order_id: str):
    """One sales order: lines with reserved, delivered and invoiced quantities, totals, its deliveries and
    invoices, and the actions its state allows."""
    await signed_in(request, session, "sales.read")
    doc = await service.get_order(session, path_id(order_id, "sales order"))
    names = await partner_names(session, [doc])
    deliveries, _n = await service.list_deliveries(session, customer_id=None, status=None, order_id=doc.id,
                                                   limit=100, offset=0)
    invoices, _n = await service.list_invoices(session, customer_id=None, status=None, order_id=doc.id,
                                               limit=100, offset=0)
    viewer = request.state.viewer
    base = f"/sales-orders/{doc.id}"
    actions: list[tuple] = []
    uninvoiced = any(ln.qty_delivered > ln.qty_invoiced for ln in doc.lines)
    if viewer.may("sales.write"):
        if doc.status == "draft":
            actions.append((_("Confirm"), f"{base}/confirm", ""))
            actions.append((_("Delete draft"), f"{base}/delete", "danger"))
        if doc.status in ("confirmed", "partially_delivered"):
            actions.append((_("Create delivery"), f"/deliveries/new?order={doc.id}"))
        if doc.status in ("draft", "confirmed") and not any(ln.qty_delivered > 0 for ln in doc.lines):
            actions.append((_("Cancel order"), f"{base}/cancel", "danger"))
        if doc.status in ("partially_delivered", "delivered", "invoiced") and not uninvoiced:
            actions.append((_("Close order"), f"{base}/close", "secondary"))
    may_invoice = viewer.may("sales.write") and uninvoiced and doc.status in ("partially_delivered", "delivered",
                                                                                "closed")
    return page(request, "tenant/sales/order.html", title=doc.number or _("Draft sales order"), doc=doc,
                customer=names.get(doc.customer_id), flow=_flow(doc.status), actions=actions,
                deliveries=deliveries, invoices=invoices, may_invoice=may_invoice, today=fmt.today(),
                notice=notice(request, DONE))


@router.post("/sales-orders/{order_id}/confirm")
@html_page
async def confirm(request: Request, session: TenantSession, order_id: str):
    """Confirm a draft: credit-limit check, number, stock reserved (409 with the figures when refused)."""
    principal = await signed_in(request, session, "sales.write")
    await signed_form(request, principal)
    doc_id = path_id(order_id, "sales order")
    await service.confirm_order(session, doc_id, principal.user.id)
    return see_other(f"/sales-orders/{doc_id}?done=confirmed")


@router.post("/sales-orders/{order_id}/cancel")
@html_page
async def cancel(request: Request, session: TenantSession, order_id: str):
    """Cancel an order with nothing delivered (reservations released)."""
    principal = await signed_in(request, session, "sales.write")
    await signed_form(request, principal)
    doc_id = path_id(order_id, "sales order")
    await service.cancel_order(session, doc_id)
    return see_other(f"/sales-orders/{doc_id}?done=cancelled")


@router.post("/sales-orders/{order_id}/close")
@html_page
async def close(request: Request, session: TenantSession, order_id: str):
    """Close an order after deliveries: what is undelivered will not be."""
    principal = await signed_in(request, session, "sales.write")
    await signed_form(request, principal)
    doc_id = path_id(order_id, "sales order")
    await service.close_order(session, doc_id)
    return see_other(f"/sales-orders/{doc_id}?done=closed")


@router.post("/sales-orders/{order_id}/delete")
@html_page
async def delete(request: Request, session: TenantSession, order_id: str):
    """Delete a draft order."""
    principal = await signed_in(request, session, "sales.write")
    await signed_form(request, principal)
    await service.delete_order(session, path_id(order_id, "sales order"))
    return see_other("/sales-orders?done=deleted")
