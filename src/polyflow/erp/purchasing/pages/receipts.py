"""Goods receipt pages: the list (search, supplier, dates, CSV / Excel), receiving against an approved purchase
order (quantity per line, location, the supplier's lot numbers; posted at once: stock in, Dr inventory / Cr
2120) and one receipt."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from polyflow.erp.pages import html_page, page, see_other, signed_form, signed_in, validation_message
from polyflow.erp.purchasing import service
from polyflow.erp.purchasing.pages import common
from polyflow.erp.purchasing.schemas import ReceiptIn, ReceiptLineIn
from polyflow.kit.errors import PolyflowError
from polyflow.kit.money import ZERO
from polyflow.platform.tenancy.deps import TenantSession
from polyflow.web import fmt
from polyflow.web.forms import Form
from polyflow.web.i18n import _
from polyflow.web.lists import Column, Filter, ListParams, list_response

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
MISSING = "goods receipt not found"


@router.get("/purchase-receipts")
@html_page
async def list_receipts(request: Request, session: TenantSession):
    """Goods receipts: search (number, supplier, delivery note), supplier, dates, sort, export."""
    await signed_in(request, session, "purchasing.read")
    p = ListParams.from_request(request, sorts=("date", "number", "supplier", "total"), default_sort="-date")
    rows, total = await service.browse(
        session, "receipt", q=p.q or None, partner_id=common.list_uuid(p, "supplier"),
        date_from=common.list_date(p, "from"), date_to=common.list_date(p, "to"), sort=p.order or "-date",
        limit=p.limit, offset=p.offset)
    items = [{"id": r.id, "number": r.number, "receipt_date": r.receipt_date, "order_id": r.order_id,
              "supplier": common.supplier_label(code, name), "delivery_note": r.delivery_note, "value": r.value}
             for r, code, name in rows]
    columns = [
        Column("number", _("Number"), sort="number", href=lambda r: f"/purchase-receipts/{r['id']}"),
        Column("receipt_date", _("Date"), "date", sort="date"),
        Column("supplier", _("Supplier"), sort="supplier"),
        Column("delivery_note", _("Delivery note")),
        Column("value", _("Value"), "money", sort="total"),
    ]
    filters = [Filter("supplier", "Supplier", await common.supplier_choices(session, active_only=False)),
               Filter("from", "From", kind="date"), Filter("to", "To", kind="date")]
    actions = [(_("Receive goods"), "/purchase-receipts/new")] if request.state.viewer.may("purchasing.write") \
        else []
    return list_response(request, p, title=_("Goods receipts"), columns=columns, rows=items, total=total,
                         filters=filters, actions=actions, filename="goods-receipts",
                         placeholder=_("Number, supplier or delivery note"))


def open_qty(line):
    """What is still to come on an order line (never below zero)."""
    net = line.qty_received - line.qty_returned_open - line.qty_debited
    return max(line.quantity - net, ZERO)


async def _order_for(session, form: Form):
    order_id = common.doc_id(form.raw("order_id") or "", "purchase order not found")
    return await service.get_doc(session, "order", order_id)


async def _form_page(request: Request, session, form: Form, order, status_code: int = 200) -> HTMLResponse:
    return page(request, "tenant/purchasing/receipt_form.html", status_code, form=form, order=order,
                supplier=await common.supplier_of(session, order.partner_id),
                variants=await common.lines_info(session, order.lines), open_qty=open_qty,
                locations=await common.location_choices(session), title=_("Receive goods"))


@router.get("/purchase-receipts/new")
@html_page
async def new_receipt(request: Request, session: TenantSession):
    """Receive goods against a purchase order (?order=<id>): each line's open quantity filled in."""
    await signed_in(request, session, "purchasing.write")
    if not request.query_params.get("order"):
        return page(request, "tenant/purchasing/pick_order.html", title=_("Receive goods"),
                    intro=_("Pick the approved purchase order the goods came on."), target="/purchase-receipts/new",
                    orders=await common.orders_waiting(session, ("approved", "partially_received")))
    form = Form({"order_id": request.query_params.get("order", ""), "receipt_date": fmt.today().isoformat(),
                 "location": await common.default_location(session)})
    order = await _order_for(session, form)
    for line in order.lines:
        form.data[f"qty_{line.id}"] = fmt.input_num(open_qty(line)) if open_qty(line) else ""
    return await _form_page(request, session, form, order)


def read_receipt(form: Form, order) -> ReceiptIn | None:
    location = form.text("location", required=True, max_length=64)
    on = form.date("receipt_date")
    note = form.text("delivery_note", max_length=100)
    lines = []
    for line in order.lines:
        quantity = form.number(f"qty_{line.id}", min=0, places=3)
        lot = form.text(f"lot_{line.id}", max_length=64)
        if quantity:
            lines.append(ReceiptLineIn(order_line_id=line.id, quantity=quantity, lot_number=lot or None))
        elif lot and f"qty_{line.id}" not in form.errors:
            form.fail(f"qty_{line.id}", _("A lot number needs a quantity"))
    if not lines and form.ok:
        form.fail("__all__", _("Enter the quantity received on at least one line"))
    if not form.ok:
        return None
    try:
        return ReceiptIn(order_id=order.id, location=location, receipt_date=on, delivery_note=note or None,
                         lines=lines)
    except ValidationError as exc:
        form.fail("__all__", validation_message(exc))
        return None


@router.post("/purchase-receipts")
@html_page
async def create_receipt(request: Request, session: TenantSession):
    """Post a goods receipt from the form (stock in at the order's net price); the form again when refused."""
    principal = await signed_in(request, session, "purchasing.write")
    form = Form(await signed_form(request, principal))
    order = await _order_for(session, form)
    data = read_receipt(form, order)
    if data is None:
        return await _form_page(request, session, form, order, 422)
    try:
        receipt = await service.create_receipt(session, data, principal.id)
    except PolyflowError as exc:
        await session.rollback()
        common.service_error(form, exc.message)
        order = await _order_for(session, form)  # the rollback expired it
        return await _form_page(request, session, form, order, exc.status_code)
    return see_other(f"/purchase-receipts/{receipt.id}?done=received")


@router.get("/purchase-receipts/{receipt_id}")
@html_page
async def show_receipt(request: Request, session: TenantSession, receipt_id: str):
    """One goods receipt: its order, supplier, location and lines with lots and values."""
    await signed_in(request, session, "purchasing.read")
    receipt = await service.get_doc(session, "receipt", common.doc_id(receipt_id, MISSING))
    order = await service.get_doc(session, "order", receipt.order_id)
    location = await common.location_of(session, receipt.location_id)
    buttons = []
    if request.state.viewer.may("purchasing.write") and order.status not in ("draft", "cancelled") and any(
            line.qty_received - line.qty_invoiced - line.qty_returned_open > 0 for line in order.lines):
        buttons.append((_("Record supplier invoice"), f"/purchase-invoices/new?order={order.id}"))
    return page(request, "tenant/purchasing/receipt.html", receipt=receipt, order=order,
                supplier=await common.supplier_of(session, receipt.partner_id), location=location,
                variants=await common.lines_info(session, receipt.lines), buttons=buttons,
                notice=common.notice(request), title=receipt.number)
