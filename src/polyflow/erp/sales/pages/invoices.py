"""Sales invoice pages: the list (status, payment and date filters, export), a draft invoice of what an order has
delivered and not yet invoiced, the invoice with DPP / PPN / total, its e-Faktur data and the payments settling
it, post / delete actions, and the faktur PDF with the total in words."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.models.sales import INVOICE_STATES
from polyflow.erp.pages import html_page, page, see_other, signed_form, signed_in, validation_message
from polyflow.erp.payments import service as payments
from polyflow.erp.sales import documents, service
from polyflow.erp.sales.invoicing import INVOICE_SORTS, PAYMENT_STATES
from polyflow.erp.sales.pages.common import date_param, notice, partner_choices, partner_names, path_id, uuid_param
from polyflow.erp.sales.schemas import InvoiceIn
from polyflow.kit.errors import InvalidInput
from polyflow.platform.tenancy.deps import TenantSession
from polyflow.web import fmt
from polyflow.web.forms import Form
from polyflow.web.i18n import _
from polyflow.web.lists import Column, Filter, ListParams, list_response
from polyflow.web.pdf import pdf_response

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

STATUS_OPTIONS = tuple((s, fmt.STATUS_LABELS.get(s, s)) for s in INVOICE_STATES)
PAYMENT_OPTIONS = (("unpaid", "Unpaid"), ("paid", "Paid"), ("overdue", "Overdue"))
assert tuple(v for v, _label in PAYMENT_OPTIONS) == PAYMENT_STATES
DONE = {"created": "The invoice was saved as a draft: check it and post it.",
        "posted": "The invoice is posted: it is in the books and open for payment.",
        "deleted": "The draft was deleted."}
# Coretax transaction codes a faktur may carry (the first two digits of the tax invoice number).
TRX_LABELS = {"01": "01 · to a buyer that is not a PPN collector", "04": "04 · DPP nilai lain (11/12)",
              "07": "07 · PPN not collected", "08": "08 · exempt from PPN"}


@router.get("/invoices")
@html_page
async def invoices(request: Request, session: TenantSession):
    """Sales invoices: search, status, paid / unpaid / overdue, customer and date filters, sort, export."""
    await signed_in(request, session, "sales.read")
    p = ListParams.from_request(request, sorts=tuple(INVOICE_SORTS), default_sort="-date")
    status = p.filter("status")
    payment = p.filter("payment")
    items, total = await service.list_invoices(
        session, customer_id=uuid_param(p.filter("customer")), status=status if status in INVOICE_STATES else None,
        order_id=None, q=p.q or None, date_from=date_param(p, "from"), date_to=date_param(p, "to"), sort=p.order,
        payment=payment if payment in PAYMENT_STATES else None, today=fmt.today(), limit=p.limit, offset=p.offset)
    names = await partner_names(session, items)
    rows = [{"id": i.id, "number": i.number or _("Draft"), "date": i.invoice_date, "due": i.due_date,
             "customer": names[i.customer_id].name if i.customer_id in names else "", "status": i.status,
             "base": i.base, "tax": i.tax, "total": i.total, "open": i.open_amount} for i in items]
    columns = [
        Column("number", _("Number"), sort="number", href=lambda r: f"/invoices/{r['id']}"),
        Column("date", _("Date"), "date", sort="date"),
        Column("due", _("Due"), "date", sort="due"),
        Column("customer", _("Customer")),
        Column("status", _("Status"), "status", sort="status"),
        Column("base", _("DPP"), "money"),
        Column("tax", _("PPN"), "money"),
        Column("total", _("Total"), "money", sort="total"),
        Column("open", _("Open"), "money", sort="open"),
    ]
    filters = [Filter("status", "Status", STATUS_OPTIONS), Filter("payment", "Payment", PAYMENT_OPTIONS),
               Filter("customer", "Customer", await partner_choices(session, customers=True)),
               Filter("from", "From", kind="date"), Filter("to", "To", kind="date")]
    return list_response(request, p, title=_("Invoices"), columns=columns, rows=rows, total=total, filters=filters,
                         filename="invoices", placeholder=_("Number or customer"), notice=notice(request, DONE))


@router.post("/invoices")
@html_page
async def create_invoice(request: Request, session: TenantSession):
    """A draft invoice of everything the order in the form delivered and has not invoiced yet."""
    principal = await signed_in(request, session, "sales.write")
    f = Form(await signed_form(request, principal))
    order_id = path_id(f.raw("order_id"), "sales order")
    invoice_date = f.date("invoice_date") or fmt.today()
    if not f.ok:
        raise InvalidInput(f"invoice date: {f.errors['invoice_date']}")
    try:
        data = InvoiceIn(order_id=order_id, invoice_date=invoice_date)
    except ValidationError as exc:
        raise InvalidInput(validation_message(exc)) from None
    invoice = await service.create_invoice(session, data, principal.user.id)
    return see_other(f"/invoices/{invoice.id}?done=created")


async def _invoice_view(session: AsyncSession, invoice_id: str):
    invoice = await service.get_invoice(session, path_id(invoice_id, "sales invoice"))
    names = await partner_names(session, [invoice])
    order = await service.get_order(session, invoice.order_id) if invoice.order_id else None
    return invoice, order, names.get(invoice.customer_id)


def _flow(status: str) -> list[tuple[str, str]]:
    steps = ("draft", "cancelled") if status == "cancelled" else ("draft", "open", "partially_paid", "paid")
    return [(s, fmt.status_label(s)) for s in steps]


@router.get("/invoices/{invoice_id}")
@html_page
async def invoice(request: Request, session: TenantSession, invoice_id: str):
    """One invoice: lines, DPP, PPN, total, what is paid and open, the e-Faktur data, the payments."""
    await signed_in(request, session, "sales.read")
    doc, order, customer = await _invoice_view(session, invoice_id)
    viewer = request.state.viewer
    actions: list[tuple] = [(_("Print faktur (PDF)"), f"/invoices/{doc.id}/pdf")]
    if viewer.may("sales.write") and doc.status == "draft":
        actions = [(_("Post invoice"), f"/invoices/{doc.id}/post", ""),
                   (_("Delete draft"), f"/invoices/{doc.id}/delete", "danger")] + actions
    if doc.status in ("open", "partially_paid") and doc.open_amount > 0 \
            and viewer.may(("sales.write", "accounting.write")):
        actions.insert(0, (_("Record payment"), f"/receipts/new?partner={doc.customer_id}&invoice={doc.id}"))
    paid_by = await payments.payments_of(session, payments.RECEIPT, doc.id) if doc.status != "draft" else []
    rates = sorted({ln.tax_rate for ln in doc.lines})
    return page(request, "tenant/sales/invoice.html", title=doc.number or _("Draft invoice"), doc=doc, order=order,
                customer=customer, actions=actions, flow=_flow(doc.status), paid_by=paid_by, rates=rates,
                trx=_(TRX_LABELS[doc.trx_code]) if doc.trx_code in TRX_LABELS else doc.trx_code,
                notice=notice(request, DONE))


@router.post("/invoices/{invoice_id}/post")
@html_page
async def post(request: Request, session: TenantSession, invoice_id: str):
    """Post a draft invoice: numbered, journal Dr Piutang / Cr Pendapatan / Cr PPN Keluaran."""
    principal = await signed_in(request, session, "sales.write")
    await signed_form(request, principal)
    doc_id = path_id(invoice_id, "sales invoice")
    await service.post_invoice(session, doc_id, principal.user.id)
    return see_other(f"/invoices/{doc_id}?done=posted")


@router.post("/invoices/{invoice_id}/delete")
@html_page
async def delete(request: Request, session: TenantSession, invoice_id: str):
    """Delete a draft invoice."""
    principal = await signed_in(request, session, "sales.write")
    await signed_form(request, principal)
    await service.delete_invoice(session, path_id(invoice_id, "sales invoice"))
    return see_other("/invoices?done=deleted")


@router.get("/invoices/{invoice_id}/pdf")
@html_page
async def invoice_pdf(request: Request, session: TenantSession, invoice_id: str):
    """The faktur as a PDF: both parties' NPWP, lines, DPP / PPN / total, the total in words, due date."""
    await signed_in(request, session, "sales.read")
    doc, order, customer = await _invoice_view(session, invoice_id)
    pdf = documents.faktur(await documents.letterhead(session), doc, order, customer)
    return pdf_response(pdf, f"faktur-{doc.number or 'draft'}")
