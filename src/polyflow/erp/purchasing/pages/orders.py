"""Purchase order pages: the list (search, status, supplier, dates, sort, CSV / Excel), the new-order form with
a fixed number of line rows (no script needed), the detail with its status flow and the actions allowed now
(approve, cancel, close, receive, invoice), and the printable PO."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from polyflow.erp.pages import html_page, page, see_other, signed_form, signed_in, validation_message
from polyflow.erp.purchasing import documents, service
from polyflow.erp.purchasing.pages import common
from polyflow.erp.purchasing.schemas import OrderIn, OrderLineIn
from polyflow.kit.errors import Conflict, PolyflowError
from polyflow.platform.tenancy.deps import TenantSession
from polyflow.web import fmt
from polyflow.web.forms import Form
from polyflow.web.i18n import _
from polyflow.web.lists import Column, Filter, ListParams, list_response
from polyflow.web.pdf import pdf_response

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

ROWS = 8  # empty line rows on a new order (a longer order: save, the form comes back with more)
MAX_ROWS = 200  # what the service takes on one order
STATUSES = (("draft", "Draft"), ("approved", "Approved"), ("partially_received", "Partially received"),
            ("received", "Received"), ("closed", "Closed"), ("cancelled", "Cancelled"))
MISSING = "purchase order not found"


@router.get("/purchase-orders")
@html_page
async def list_orders(request: Request, session: TenantSession):
    """Purchase orders: search (number, supplier, note), status, supplier, order dates, sort, export."""
    await signed_in(request, session, "purchasing.read")
    p = ListParams.from_request(request, sorts=("date", "number", "supplier", "total", "status"),
                                default_sort="-date")
    status = p.filter("status")
    rows, total = await service.browse(
        session, "order", q=p.q or None, status=status if status in dict(STATUSES) else None,
        partner_id=common.list_uuid(p, "supplier"), date_from=common.list_date(p, "from"),
        date_to=common.list_date(p, "to"),
        sort=p.order or "-date", limit=p.limit, offset=p.offset)
    items = [{"id": o.id, "number": o.number or _("(draft)"), "order_date": o.order_date,
              "supplier": common.supplier_label(code, name), "expected_date": o.expected_date, "status": o.status,
              "subtotal": o.subtotal, "tax_amount": o.tax_amount, "total": o.total} for o, code, name in rows]
    columns = [
        Column("number", _("Number"), sort="number", href=lambda r: f"/purchase-orders/{r['id']}"),
        Column("order_date", _("Date"), "date", sort="date"),
        Column("supplier", _("Supplier"), sort="supplier"),
        Column("expected_date", _("Expected delivery"), "date"),
        Column("status", _("Status"), "status", sort="status"),
        Column("subtotal", _("DPP"), "money"),
        Column("tax_amount", _("PPN"), "money"),
        Column("total", _("Total"), "money", sort="total"),
    ]
    filters = [Filter("status", "Status", STATUSES),
               Filter("supplier", "Supplier", await common.supplier_choices(session, active_only=False)),
               Filter("from", "From", kind="date"), Filter("to", "To", kind="date")]
    actions = [(_("New purchase order"), "/purchase-orders/new")] if request.state.viewer.may("purchasing.write") \
        else []
    return list_response(request, p, title=_("Purchase orders"), columns=columns, rows=items, total=total,
                         filters=filters, actions=actions, filename="purchase-orders", notice=common.notice(request),
                         placeholder=_("Number, supplier or note"))


# -- new order ---------------------------------------------------------------------------------------------


async def _form_page(request: Request, session, form: Form, rows: int, status_code: int = 200,
                     variants=None, order=None) -> HTMLResponse:
    """The order form: a new order, or a draft's edit when `order` is given."""
    on = fmt.today()
    # The products are one <datalist> shared by every row (not a <select> per row: a catalog of a thousand
    # products would make the form megabytes).
    return page(request, "tenant/purchasing/order_form.html", status_code, form=form, rows=range(1, rows + 1),
                suppliers=await common.supplier_choices(session),
                variants=variants if variants is not None else await common.variant_choices(session),
                taxes=await common.tax_choices(session, on),
                title=_("Edit the draft purchase order") if order else _("New purchase order"),
                form_action=f"/purchase-orders/{order.id}/edit" if order else "/purchase-orders",
                back=f"/purchase-orders/{order.id}" if order else "/purchase-orders")


@router.get("/purchase-orders/new")
@html_page
async def new_order(request: Request, session: TenantSession):
    """The new purchase order form (supplier, dates, line rows)."""
    await signed_in(request, session, "purchasing.write")
    form = Form({"order_date": fmt.today().isoformat(), "partner_id": request.query_params.get("supplier", "")})
    return await _form_page(request, session, form, ROWS)


def posted_rows(form: Form) -> int:
    """How many line rows the posted form had (at least ROWS)."""
    numbers = [int(k.split("_", 1)[1]) for k in form.data.keys()
               if k.startswith("variant_") and k.split("_", 1)[1].isdigit()]
    return min(MAX_ROWS, max([ROWS, *numbers]))


def read_order(form: Form, rows: int, variants) -> OrderIn | None:
    """The order the form describes, or None with the problems on their fields (`variants`: the choices)."""
    partner_id = form.uuid("partner_id", required=True)
    order_date = form.date("order_date")
    expected = form.date("expected_date")
    if order_date and expected and expected < order_date:
        form.fail("expected_date", _("The expected date is before the order date"))
    inclusive = form.bool("prices_include_tax")
    note = form.text("note", max_length=500, multiline=True)
    lines = []
    for i in range(1, rows + 1):
        typed = [form.raw(f"{k}_{i}").strip() for k in ("variant", "qty", "price")]
        if not any(typed):
            continue  # an empty row (the unit and tax code have defaults, so they alone do not make a line)
        variant = common.variant_from(form, f"variant_{i}", variants)
        quantity = form.number(f"qty_{i}", required=True, positive=True, places=3)
        price = form.number(f"price_{i}", min=0, places=2)
        unit = form.text(f"unit_{i}", max_length=16) or None
        tax_code = form.text(f"tax_{i}", max_length=20) or None
        if variant and quantity:
            lines.append(OrderLineIn(variant_id=variant, quantity=quantity, unit=unit, unit_price=price,
                                     tax_code=tax_code))
    if not lines and form.ok:
        form.fail("__all__", _("Add at least one line: a product and its quantity"))
    if not form.ok:
        return None
    try:
        return OrderIn(partner_id=partner_id, order_date=order_date, expected_date=expected,
                       prices_include_tax=inclusive, note=note or None, lines=lines)
    except ValidationError as exc:
        form.fail("__all__", validation_message(exc))
        return None


@router.post("/purchase-orders")
@html_page
async def create_order(request: Request, session: TenantSession):
    """Save a new purchase order as a draft; the form again (422, what was typed kept) when it is refused."""
    principal = await signed_in(request, session, "purchasing.write")
    form = Form(await signed_form(request, principal))
    rows = posted_rows(form)
    variants = await common.variant_choices(session)
    data = read_order(form, rows, variants)
    if data is None:
        return await _form_page(request, session, form, rows, 422, variants)
    try:
        order = await service.create_order(session, data, principal.id)
    except PolyflowError as exc:
        await session.rollback()
        common.service_error(form, exc.message)
        return await _form_page(request, session, form, rows, exc.status_code)
    return see_other(f"/purchase-orders/{order.id}?done=created")


# -- one order ---------------------------------------------------------------------------------------------


async def _draft(session, order_id: str):
    order = await service.get_doc(session, "order", common.doc_id(order_id, MISSING))
    if order.status != "draft":
        raise Conflict(_("Purchase order %(number)s is %(status)s: only a draft can be edited",
                         number=order.number or "", status=fmt.status_label(order.status)))
    return order


@router.get("/purchase-orders/{order_id}/edit")
@html_page
async def edit_order(request: Request, session: TenantSession, order_id: str):
    """A draft order in the order form (what a converted request or MRP proposal needs before approval)."""
    await signed_in(request, session, "purchasing.write")
    order = await _draft(session, order_id)
    variants = await common.lines_info(session, order.lines)
    values = {"partner_id": str(order.partner_id), "order_date": order.order_date.isoformat(),
              "expected_date": order.expected_date.isoformat() if order.expected_date else "",
              "prices_include_tax": "1" if order.prices_include_tax else "", "note": order.note or ""}
    for i, line in enumerate(order.lines, 1):
        variant = variants.get(line.variant_id)
        values.update({f"variant_{i}": variant.sku if variant else str(line.variant_id),
                       f"qty_{i}": fmt.input_num(line.quantity), f"unit_{i}": line.unit,
                       f"price_{i}": fmt.input_num(line.unit_price), f"tax_{i}": line.tax_code})
    rows = min(MAX_ROWS, max(ROWS, len(order.lines) + 2))
    return await _form_page(request, session, Form(values), rows, order=order)


@router.post("/purchase-orders/{order_id}/edit")
@html_page
async def update_order(request: Request, session: TenantSession, order_id: str):
    """Replace a draft order's supplier, dates and lines from the form; the form again when refused."""
    principal = await signed_in(request, session, "purchasing.write")
    form = Form(await signed_form(request, principal))
    order = await _draft(session, order_id)
    rows = posted_rows(form)
    variants = await common.variant_choices(session)
    data = read_order(form, rows, variants)
    if data is None:
        return await _form_page(request, session, form, rows, 422, variants, order)
    try:
        await service.update_order(session, order.id, data)
    except PolyflowError as exc:
        await session.rollback()
        common.service_error(form, exc.message)
        return await _form_page(request, session, form, rows, exc.status_code, variants,
                                await service.get_doc(session, "order", common.doc_id(order_id, MISSING)))
    return see_other(f"/purchase-orders/{order.id}?done=updated")


FLOW = (("draft", "Draft"), ("approved", "Approved"), ("partially_received", "Partially received"),
        ("received", "Received"), ("closed", "Closed"))


def flow(status: str) -> list[tuple[str, str]]:
    steps = FLOW if status != "cancelled" else (("draft", "Draft"), ("cancelled", "Cancelled"))
    return [(key, _(label)) for key, label in steps]


def to_invoice(line) -> object:
    return line.qty_received - line.qty_invoiced - line.qty_returned_open


def order_actions(order, viewer) -> list[tuple]:
    """The buttons for what may be done to the order now (by this user)."""
    if not viewer.may("purchasing.write"):
        return []
    base = f"/purchase-orders/{order.id}"
    received = any(line.qty_received for line in order.lines)
    out: list[tuple] = []
    if order.status == "draft":
        out.append((_("Approve"), f"{base}/approve", "primary"))
        out.append((_("Edit"), f"{base}/edit"))
    if order.status in ("approved", "partially_received"):
        out.append((_("Receive goods"), f"/purchase-receipts/new?order={order.id}"))
    if order.status not in ("draft", "cancelled") and any(to_invoice(line) > 0 for line in order.lines):
        out.append((_("Record supplier invoice"), f"/purchase-invoices/new?order={order.id}"))
    if order.status not in ("draft", "cancelled") and any(
            line.qty_received - line.qty_returned_open - line.qty_debited > 0 for line in order.lines):
        out.append((_("Return goods"), f"/purchase-returns/new?order={order.id}"))
    if order.status in ("partially_received", "received"):
        out.append((_("Close (no more receipts)"), f"{base}/close", "secondary"))
    if order.status in ("draft", "approved") and not received:
        out.append((_("Cancel order"), f"{base}/cancel", "danger"))
    return out


@router.get("/purchase-orders/{order_id}")
@html_page
async def show_order(request: Request, session: TenantSession, order_id: str):
    """One purchase order: supplier, lines with received / invoiced, DPP / PPN / total, receipts and invoices."""
    await signed_in(request, session, "purchasing.read")
    order = await service.get_doc(session, "order", common.doc_id(order_id, MISSING))
    supplier = await common.supplier_of(session, order.partner_id)
    variants = await common.lines_info(session, order.lines)
    receipts, _n = await service.browse(session, "receipt", order_id=order.id, sort="date", limit=100, offset=0)
    invoices, _n = await service.browse(session, "invoice", order_id=order.id, sort="date", limit=100, offset=0)
    returns, _n = await service.browse(session, "return", order_id=order.id, sort="date", limit=100, offset=0)
    return page(request, "tenant/purchasing/order.html", order=order, supplier=supplier, variants=variants,
                receipts=[r for r, _c, _nm in receipts], invoices=[i for i, _c, _nm in invoices],
                returns=[r for r, _c, _nm in returns],
                steps=flow(order.status), buttons=order_actions(order, request.state.viewer),
                to_invoice=to_invoice, notice=common.notice(request), title=order.number or _("Draft purchase order"))


async def _transition(request: Request, session, order_id: str, action, done: str):
    principal = await signed_in(request, session, "purchasing.write")
    await signed_form(request, principal)
    order = await action(common.doc_id(order_id, MISSING), principal)
    return see_other(f"/purchase-orders/{order.id}?done={done}")


@router.post("/purchase-orders/{order_id}/approve")
@html_page
async def approve_order(request: Request, session: TenantSession, order_id: str):
    """draft -> approved (the order gets its number)."""
    return await _transition(request, session, order_id,
                             lambda oid, who: service.approve_order(session, oid, who.id), "approved")


@router.post("/purchase-orders/{order_id}/cancel")
@html_page
async def cancel_order(request: Request, session: TenantSession, order_id: str):
    """Cancel an order with nothing received."""
    return await _transition(request, session, order_id, lambda oid, who: service.cancel_order(session, oid),
                             "cancelled")


@router.post("/purchase-orders/{order_id}/close")
@html_page
async def close_order(request: Request, session: TenantSession, order_id: str):
    """Close a (partially) received order: no more receipts."""
    return await _transition(request, session, order_id, lambda oid, who: service.close_order(session, oid),
                             "closed")


@router.get("/purchase-orders/{order_id}/pdf")
@html_page
async def order_pdf(request: Request, session: TenantSession, order_id: str):
    """The purchase order as a printable PDF (supplier, NPWP, lines, DPP / PPN / total, delivery, signatures)."""
    await signed_in(request, session, "purchasing.read")
    order = await service.get_doc(session, "order", common.doc_id(order_id, MISSING))
    doc = documents.purchase_order(order, await common.company(session, request.state.viewer.brand),
                                   await common.supplier_of(session, order.partner_id),
                                   await common.lines_info(session, order.lines))
    return pdf_response(doc, f"PO-{order.number or 'draft'}")
