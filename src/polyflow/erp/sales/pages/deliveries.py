"""Delivery pages (surat jalan): the list, a new delivery of a confirmed order (a quantity per line, default what
remains), the delivery with its post / delete actions, and its printable PDF (no prices)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.models.sales import DOC_STATES
from polyflow.erp.pages import html_page, page, see_other, signed_form, signed_in, validation_message
from polyflow.erp.sales import documents, service
from polyflow.erp.sales.pages.common import (
    date_param, location_choices, notice, partner_choices, partner_names, path_id, uuid_param, variants,
)
from polyflow.erp.sales.delivering import DELIVERY_SORTS
from polyflow.erp.sales.schemas import DeliveryIn, DeliveryLineIn
from polyflow.kit.errors import PolyflowError
from polyflow.platform.tenancy.deps import TenantSession
from polyflow.web import fmt
from polyflow.web.forms import Form
from polyflow.web.i18n import _
from polyflow.web.lists import Column, Filter, ListParams, list_response
from polyflow.web.pdf import pdf_response

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

STATUS_OPTIONS = tuple((s, fmt.STATUS_LABELS.get(s, s)) for s in DOC_STATES)
DONE = {"created": "The delivery was saved as a draft: check it and post it.",
        "posted": "The delivery is posted: the goods left the stock.", "deleted": "The draft was deleted."}


@router.get("/deliveries")
@html_page
async def deliveries(request: Request, session: TenantSession):
    """Deliveries: search, status, customer and date filters, sort, export."""
    await signed_in(request, session, "sales.read")
    p = ListParams.from_request(request, sorts=tuple(DELIVERY_SORTS), default_sort="-date")
    status = p.filter("status")
    items, total = await service.list_deliveries(
        session, customer_id=uuid_param(p.filter("customer")), status=status if status in DOC_STATES else None,
        order_id=uuid_param(p.filter("order")), q=p.q or None, date_from=date_param(p, "from"),
        date_to=date_param(p, "to"), sort=p.order, limit=p.limit, offset=p.offset)
    names = await partner_names(session, items)
    rows = [{"id": d.id, "number": d.number or _("Draft"), "date": d.delivery_date,
             "customer": names[d.customer_id].name if d.customer_id in names else "", "vehicle": d.vehicle,
             "status": d.status, "lines": len(d.lines)} for d in items]
    columns = [
        Column("number", _("Number"), sort="number", href=lambda r: f"/deliveries/{r['id']}"),
        Column("date", _("Date"), "date", sort="date"),
        Column("customer", _("Customer")),
        Column("vehicle", _("Vehicle")),
        Column("lines", _("Lines"), "num"),
        Column("status", _("Status"), "status", sort="status"),
    ]
    filters = [Filter("status", "Status", STATUS_OPTIONS),
               Filter("customer", "Customer", await partner_choices(session, customers=True)),
               Filter("from", "From", kind="date"), Filter("to", "To", kind="date")]
    return list_response(request, p, title=_("Deliveries"), columns=columns, rows=rows, total=total,
                         filters=filters, filename="deliveries", placeholder=_("Number or customer"),
                         notice=notice(request, DONE))


async def _form_page(request: Request, session: AsyncSession, order, form: Form,
                     status_code: int = 200) -> HTMLResponse:
    names = await partner_names(session, [order])
    lines = [ln for ln in order.lines if ln.quantity > ln.qty_delivered]
    return page(request, "tenant/sales/delivery_form.html", status_code, title=_("New delivery"), order=order,
                customer=names.get(order.customer_id), lines=lines, form=form,
                locations=await location_choices(session))


async def _choose_order(request: Request, session: AsyncSession) -> HTMLResponse:
    """Without ?order=: the orders there is something to deliver on, oldest first, to pick one."""
    orders = []
    for status in ("confirmed", "partially_delivered"):
        found, _total = await service.list_orders(session, customer_id=None, status=status, limit=200, offset=0,
                                                  sort="date")
        orders += found
    orders.sort(key=lambda o: (o.order_date, o.number or ""))
    names = await partner_names(session, orders)
    return page(request, "tenant/sales/delivery_pick.html", title=_("New delivery"), orders=orders, names=names)


@router.get("/deliveries/new")
@html_page
async def new_delivery(request: Request, session: TenantSession):
    """A new delivery of the order in ?order=: each line's quantity defaults to what remains to deliver."""
    await signed_in(request, session, "sales.write")
    if not request.query_params.get("order"):
        return await _choose_order(request, session)
    order = await service.get_order(session, path_id(request.query_params["order"], "sales order"))
    values = {"delivery_date": fmt.today().isoformat(), "location": str(order.location_id)}
    values |= {f"qty_{ln.id}": fmt.input_num(ln.quantity - ln.qty_delivered) for ln in order.lines
               if ln.quantity > ln.qty_delivered}
    return await _form_page(request, session, order, Form(values))


@router.post("/deliveries")
@html_page
async def create_delivery(request: Request, session: TenantSession):
    """Save a draft delivery from the form; the form again (422/409) with what was typed and the reason."""
    principal = await signed_in(request, session, "sales.write")
    f = Form(await signed_form(request, principal))
    order = await service.get_order(session, path_id(f.raw("order_id"), "sales order"))
    delivery_date = f.date("delivery_date", required=True)
    location = f.uuid("location")
    vehicle = f.text("vehicle", max_length=50) or None
    note = f.text("note", max_length=2000, multiline=True) or None
    lines = []
    for ln in order.lines:
        quantity = f.number(f"qty_{ln.id}", min=0, places=3)
        if quantity:
            lines.append(DeliveryLineIn(order_line_id=ln.id, quantity=quantity))
    if f.ok and not lines:
        f.fail("__all__", _("Give the quantity delivered of at least one line."))
    if not f.ok:
        return await _form_page(request, session, order, f, 422)
    try:
        data = DeliveryIn(order_id=order.id, delivery_date=delivery_date, location=str(location) if location else None,
                          vehicle=vehicle, note=note, lines=lines)
        delivery = await service.create_delivery(session, data, principal.user.id)
    except ValidationError as exc:
        f.fail("__all__", validation_message(exc))
        return await _form_page(request, session, order, f, 422)
    except PolyflowError as exc:
        await session.rollback()
        f.fail("__all__", exc.message)
        order = await service.get_order(session, order.id)
        return await _form_page(request, session, order, f, exc.status_code)
    return see_other(f"/deliveries/{delivery.id}?done=created")


async def _delivery_view(session: AsyncSession, delivery_id: str):
    delivery = await service.get_delivery(session, path_id(delivery_id, "delivery"))
    order = await service.get_order(session, delivery.order_id)
    names = await partner_names(session, [delivery])
    by_line = {ln.id: ln for ln in order.lines}
    found = await variants(session, [ln.variant_id for ln in delivery.lines])
    lines = [{"no": dl.line_no, "sku": found[dl.variant_id].sku if dl.variant_id in found else "",
              "description": by_line[dl.order_line_id].description, "quantity": dl.quantity,
              "unit": by_line[dl.order_line_id].unit} for dl in delivery.lines]
    return delivery, order, names.get(delivery.customer_id), lines


@router.get("/deliveries/{delivery_id}")
@html_page
async def delivery(request: Request, session: TenantSession, delivery_id: str):
    """One delivery: its lines, and post / delete while it is a draft; the surat jalan PDF."""
    await signed_in(request, session, "sales.read")
    doc, order, customer, lines = await _delivery_view(session, delivery_id)
    actions: list[tuple] = [(_("Print surat jalan (PDF)"), f"/deliveries/{doc.id}/pdf")]
    if request.state.viewer.may("sales.write") and doc.status == "draft":
        actions = [(_("Post delivery"), f"/deliveries/{doc.id}/post", ""),
                   (_("Delete draft"), f"/deliveries/{doc.id}/delete", "danger")] + actions
    steps = ("draft", "cancelled") if doc.status == "cancelled" else ("draft", "posted")
    # Invoicing takes everything the order delivered and has not invoiced yet (this delivery included).
    may_invoice = request.state.viewer.may("sales.write") and doc.status == "posted" \
        and order.status in ("partially_delivered", "delivered", "closed") \
        and any(ln.qty_delivered > ln.qty_invoiced for ln in order.lines)
    return page(request, "tenant/sales/delivery.html", title=doc.number or _("Draft delivery"), doc=doc,
                order=order, customer=customer, lines=lines, actions=actions, may_invoice=may_invoice,
                today=fmt.today(),
                flow=[(s, fmt.status_label(s)) for s in steps], notice=notice(request, DONE))


@router.post("/deliveries/{delivery_id}/post")
@html_page
async def post(request: Request, session: TenantSession, delivery_id: str):
    """Post a draft delivery: numbered, stock out at moving-average cost (409 naming what is short)."""
    principal = await signed_in(request, session, "sales.write")
    await signed_form(request, principal)
    doc_id = path_id(delivery_id, "delivery")
    await service.post_delivery(session, doc_id, principal.user.id)
    return see_other(f"/deliveries/{doc_id}?done=posted")


@router.post("/deliveries/{delivery_id}/delete")
@html_page
async def delete(request: Request, session: TenantSession, delivery_id: str):
    """Delete a draft delivery."""
    principal = await signed_in(request, session, "sales.write")
    await signed_form(request, principal)
    await service.delete_delivery(session, path_id(delivery_id, "delivery"))
    return see_other("/deliveries?done=deleted")


@router.get("/deliveries/{delivery_id}/pdf")
@html_page
async def delivery_pdf(request: Request, session: TenantSession, delivery_id: str):
    """The surat jalan as a PDF: quantities and units, the customer's address, vehicle, signature boxes."""
    await signed_in(request, session, "sales.read")
    doc, order, customer, lines = await _delivery_view(session, delivery_id)
    pdf = documents.surat_jalan(await documents.letterhead(session), doc, order, customer, lines)
    return pdf_response(pdf, f"surat-jalan-{doc.number or 'draft'}")
