"""Supplier invoice pages: the list (status or unpaid, due dates, supplier, dates, CSV / Excel), recording an
invoice against what a purchase order received (quantities and prices per line, the supplier's invoice and
faktur pajak numbers; saved as a draft or posted at once), one invoice with DPP / PPN and its actions."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from polyflow.erp.pages import html_page, page, see_other, signed_form, signed_in, validation_message
from polyflow.erp.purchasing import service
from polyflow.erp.purchasing.pages import common
from polyflow.erp.purchasing.schemas import InvoiceIn, InvoiceLineIn, tax_invoice_number
from polyflow.kit.errors import PolyflowError
from polyflow.platform.tenancy.deps import TenantSession
from polyflow.web import fmt
from polyflow.web.forms import Form
from polyflow.web.i18n import _
from polyflow.web.lists import Column, Filter, ListParams, list_response

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
MISSING = "purchase invoice not found"
STATUSES = (("unpaid", "Unpaid"), ("draft", "Draft"), ("open", "Open"), ("partially_paid", "Partially paid"),
            ("paid", "Paid"), ("cancelled", "Cancelled"))


@router.get("/purchase-invoices")
@html_page
async def list_invoices(request: Request, session: TenantSession):
    """Supplier invoices: search (numbers, faktur, supplier), status or unpaid, supplier, dates, sort, export."""
    await signed_in(request, session, "purchasing.read")
    p = ListParams.from_request(request, sorts=("date", "number", "supplier", "total", "due", "status"),
                                default_sort="-date")
    status = p.filter("status")
    rows, total = await service.browse(
        session, "invoice", q=p.q or None, status=status if status in dict(STATUSES) else None,
        partner_id=common.list_uuid(p, "supplier"), date_from=common.list_date(p, "from"),
        date_to=common.list_date(p, "to"), sort=p.order or "-date", limit=p.limit, offset=p.offset)
    today = fmt.today()
    items = [{"id": i.id, "number": i.number or _("(draft)"), "invoice_date": i.invoice_date,
              "supplier": common.supplier_label(code, name), "supplier_invoice_no": i.supplier_invoice_no,
              "due_date": i.due_date, "overdue": (today - i.due_date).days if i.open_amount and i.status in (
                  "open", "partially_paid") and i.due_date < today else None,
              "status": i.status, "subtotal": i.subtotal, "tax_amount": i.tax_amount, "total": i.total,
              "open_amount": i.open_amount} for i, code, name in rows]
    columns = [
        Column("number", _("Number"), sort="number", href=lambda r: f"/purchase-invoices/{r['id']}"),
        Column("invoice_date", _("Date"), "date", sort="date"),
        Column("supplier", _("Supplier"), sort="supplier"),
        Column("supplier_invoice_no", _("Supplier's invoice no.")),
        Column("due_date", _("Due"), "date", sort="due"),
        Column("overdue", _("Days overdue"), "num"),
        Column("status", _("Status"), "status", sort="status"),
        Column("subtotal", _("DPP"), "money"),
        Column("tax_amount", _("PPN"), "money"),
        Column("total", _("Total"), "money", sort="total"),
        Column("open_amount", _("Open amount"), "money"),
    ]
    filters = [Filter("status", "Status", STATUSES),
               Filter("supplier", "Supplier", await common.supplier_choices(session, active_only=False)),
               Filter("from", "From", kind="date"), Filter("to", "To", kind="date")]
    actions = [(_("Record supplier invoice"), "/purchase-invoices/new")] \
        if request.state.viewer.may("purchasing.write") else []
    return list_response(request, p, title=_("Supplier invoices"), columns=columns, rows=items, total=total,
                         filters=filters, actions=actions, filename="supplier-invoices",
                         placeholder=_("Number, supplier or faktur"))


def to_invoice(line):
    return line.qty_received - line.qty_invoiced - line.qty_returned_open


async def _order_for(session, form: Form):
    order_id = common.doc_id(form.raw("order_id") or "", "purchase order not found")
    return await service.get_doc(session, "order", order_id)


async def _form_page(request: Request, session, form: Form, order, status_code: int = 200) -> HTMLResponse:
    return page(request, "tenant/purchasing/invoice_form.html", status_code, form=form, order=order,
                supplier=await common.supplier_of(session, order.partner_id),
                variants=await common.lines_info(session, order.lines), to_invoice=to_invoice,
                title=_("Record supplier invoice"))


@router.get("/purchase-invoices/new")
@html_page
async def new_invoice(request: Request, session: TenantSession):
    """Record a supplier invoice against a purchase order (?order=<id>): what was received and not yet
    invoiced filled in, at the order's prices."""
    await signed_in(request, session, "purchasing.write")
    if not request.query_params.get("order"):
        return page(request, "tenant/purchasing/pick_order.html", title=_("Record supplier invoice"),
                    intro=_("Pick the purchase order the supplier invoices (goods received and not yet invoiced)."),
                    target="/purchase-invoices/new", orders=await common.orders_waiting(
                        session, ("partially_received", "received", "closed"),
                        lambda o: any(to_invoice(line) > 0 for line in o.lines)))
    form = Form({"order_id": request.query_params.get("order", ""), "invoice_date": fmt.today().isoformat()})
    order = await _order_for(session, form)
    for line in order.lines:
        left = to_invoice(line)
        form.data[f"qty_{line.id}"] = fmt.input_num(left) if left > 0 else ""
        form.data[f"price_{line.id}"] = fmt.input_num(line.unit_price)
    return await _form_page(request, session, form, order)


def read_invoice(form: Form, order) -> InvoiceIn | None:
    on = form.date("invoice_date")
    supplier_no = form.text("supplier_invoice_no", max_length=64)
    faktur = form.text("tax_invoice_no", max_length=40)
    if faktur:
        try:
            faktur = tax_invoice_number(faktur)
        except ValueError:
            form.fail("tax_invoice_no", _("A faktur pajak number has 16 or 17 digits (dots and dashes allowed)"))
    note = form.text("note", max_length=500, multiline=True)
    lines = []
    for line in order.lines:
        quantity = form.number(f"qty_{line.id}", min=0, places=3)
        price = form.number(f"price_{line.id}", min=0, places=2)
        if quantity:
            lines.append(InvoiceLineIn(order_line_id=line.id, quantity=quantity, unit_price=price))
    if not lines and form.ok:
        form.fail("__all__", _("Enter the quantity invoiced on at least one line"))
    if not form.ok:
        return None
    try:
        return InvoiceIn(order_id=order.id, invoice_date=on, supplier_invoice_no=supplier_no or None,
                         tax_invoice_no=faktur or None, note=note or None, lines=lines)
    except ValidationError as exc:
        form.fail("__all__", validation_message(exc))
        return None


@router.post("/purchase-invoices")
@html_page
async def create_invoice(request: Request, session: TenantSession):
    """Save a supplier invoice from the form as a draft, or post it at once (then=post); the form again when
    refused (nothing saved: a refused posting leaves no draft behind)."""
    principal = await signed_in(request, session, "purchasing.write")
    form = Form(await signed_form(request, principal))
    order = await _order_for(session, form)
    data = read_invoice(form, order)
    if data is None:
        return await _form_page(request, session, form, order, 422)
    try:
        invoice = await service.create_invoice(session, data, principal.id)
        if form.raw("then") == "post":
            await service.post_invoice(session, invoice.id, principal.id)
    except PolyflowError as exc:
        await session.rollback()
        common.service_error(form, exc.message)
        return await _form_page(request, session, form, await _order_for(session, form), exc.status_code)
    done = "posted" if form.raw("then") == "post" else "invoice_created"
    return see_other(f"/purchase-invoices/{invoice.id}?done={done}")


FLOW = (("draft", "Draft"), ("open", "Open"), ("partially_paid", "Partially paid"), ("paid", "Paid"))


@router.get("/purchase-invoices/{invoice_id}")
@html_page
async def show_invoice(request: Request, session: TenantSession, invoice_id: str):
    """One supplier invoice: supplier, faktur, lines, DPP / PPN / total, paid and open, due date."""
    await signed_in(request, session, "purchasing.read")
    invoice = await service.get_doc(session, "invoice", common.doc_id(invoice_id, MISSING))
    order = await service.get_doc(session, "order", invoice.order_id)
    steps = FLOW if invoice.status != "cancelled" else (("draft", "Draft"), ("cancelled", "Cancelled"))
    buttons = []
    if invoice.status == "draft" and request.state.viewer.may("purchasing.write"):
        buttons = [(_("Post"), f"/purchase-invoices/{invoice.id}/post", "primary"),
                   (_("Cancel draft"), f"/purchase-invoices/{invoice.id}/cancel", "danger")]
    return page(request, "tenant/purchasing/invoice.html", invoice=invoice, order=order,
                supplier=await common.supplier_of(session, invoice.partner_id),
                variants=await common.lines_info(session, invoice.lines), buttons=buttons,
                steps=[(k, _(label)) for k, label in steps], notice=common.notice(request),
                title=invoice.number or _("Draft supplier invoice"))


@router.post("/purchase-invoices/{invoice_id}/post")
@html_page
async def post_invoice(request: Request, session: TenantSession, invoice_id: str):
    """draft -> open: numbered and posted (clears 2120, PPN Masukan, Hutang Usaha)."""
    principal = await signed_in(request, session, "purchasing.write")
    await signed_form(request, principal)
    invoice = await service.post_invoice(session, common.doc_id(invoice_id, MISSING), principal.id)
    return see_other(f"/purchase-invoices/{invoice.id}?done=posted")


@router.post("/purchase-invoices/{invoice_id}/cancel")
@html_page
async def cancel_invoice(request: Request, session: TenantSession, invoice_id: str):
    """Cancel a draft supplier invoice."""
    principal = await signed_in(request, session, "purchasing.write")
    await signed_form(request, principal)
    invoice = await service.cancel_invoice(session, common.doc_id(invoice_id, MISSING))
    return see_other(f"/purchase-invoices/{invoice.id}?done=cancelled")
