"""Purchase return pages: the list (search, supplier, dates, CSV / Excel), returning received goods of a purchase
order to the supplier (posted at once: stock out, 2120 cleared for what was not invoiced, a debit note for what
was) and one return with its debit note."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from polyflow.erp.pages import html_page, page, see_other, signed_form, signed_in, validation_message
from polyflow.erp.purchasing import service
from polyflow.erp.purchasing.pages import common
from polyflow.erp.purchasing.schemas import ReturnIn, ReturnLineIn, tax_invoice_number
from polyflow.kit.errors import PolyflowError
from polyflow.kit.money import ZERO
from polyflow.platform.tenancy.deps import TenantSession
from polyflow.web import fmt
from polyflow.web.forms import Form
from polyflow.web.i18n import _
from polyflow.web.lists import Column, Filter, ListParams, list_response

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
MISSING = "purchase return not found"


def returnable(line):
    """What of an order line can still go back: received, less what went back already (never below zero)."""
    return max(line.qty_received - line.qty_returned_open - line.qty_debited, ZERO)


@router.get("/purchase-returns")
@html_page
async def list_returns(request: Request, session: TenantSession):
    """Purchase returns: search (number, reason, faktur, supplier), supplier, dates, sort, export."""
    await signed_in(request, session, "purchasing.read")
    p = ListParams.from_request(request, sorts=("date", "number", "supplier", "total"), default_sort="-date")
    rows, total = await service.browse(
        session, "return", q=p.q or None, partner_id=common.list_uuid(p, "supplier"),
        date_from=common.list_date(p, "from"), date_to=common.list_date(p, "to"), sort=p.order or "-date",
        limit=p.limit, offset=p.offset)
    items = [{"id": r.id, "number": r.number, "return_date": r.return_date, "supplier": common.supplier_label(c, n),
              "reason": r.reason, "debit_base": r.debit_base, "debit_tax": r.debit_tax, "debit_total": r.debit_total}
             for r, c, n in rows]
    columns = [
        Column("number", _("Number"), sort="number", href=lambda r: f"/purchase-returns/{r['id']}"),
        Column("return_date", _("Date"), "date", sort="date"),
        Column("supplier", _("Supplier"), sort="supplier"),
        Column("reason", _("Reason")),
        Column("debit_base", _("Debit note DPP"), "money"),
        Column("debit_tax", _("Debit note PPN"), "money"),
        Column("debit_total", _("Debit note total"), "money", sort="total"),
    ]
    filters = [Filter("supplier", "Supplier", await common.supplier_choices(session, active_only=False)),
               Filter("from", "From", kind="date"), Filter("to", "To", kind="date")]
    return list_response(request, p, title=_("Purchase returns"), columns=columns, rows=items, total=total,
                         filters=filters, filename="purchase-returns", placeholder=_("Number, supplier or reason"))


async def _order_for(session, form: Form):
    return await service.get_doc(session, "order", common.doc_id(form.raw("order_id") or "",
                                                                 "purchase order not found"))


async def _form_page(request: Request, session, form: Form, order, status_code: int = 200) -> HTMLResponse:
    return page(request, "tenant/purchasing/return_form.html", status_code, form=form, order=order,
                supplier=await common.supplier_of(session, order.partner_id),
                variants=await common.lines_info(session, order.lines), returnable=returnable,
                locations=await common.location_choices(session), title=_("Return goods to the supplier"))


@router.get("/purchase-returns/new")
@html_page
async def new_return(request: Request, session: TenantSession):
    """Return goods received on a purchase order (?order=<id>), or pick the order."""
    await signed_in(request, session, "purchasing.write")
    if not request.query_params.get("order"):
        return page(request, "tenant/purchasing/pick_order.html", title=_("Return goods to the supplier"),
                    intro=_("Pick the purchase order the goods were received on."), target="/purchase-returns/new",
                    orders=await common.orders_waiting(
                        session, ("partially_received", "received", "closed"),
                        lambda o: any(returnable(line) > 0 for line in o.lines)))
    form = Form({"order_id": request.query_params.get("order", ""), "return_date": fmt.today().isoformat(),
                 "location": await common.default_location(session)})
    return await _form_page(request, session, form, await _order_for(session, form))


def read_return(form: Form, order) -> ReturnIn | None:
    location = form.text("location", required=True, max_length=64)
    on = form.date("return_date")
    reason = form.text("reason", max_length=500, multiline=True)
    faktur = form.text("tax_invoice_no", max_length=40)
    if faktur:
        try:
            faktur = tax_invoice_number(faktur)
        except ValueError:
            form.fail("tax_invoice_no", _("A faktur pajak number has 16 or 17 digits (dots and dashes allowed)"))
    lines = []
    for line in order.lines:
        quantity = form.number(f"qty_{line.id}", min=0, places=3)
        if quantity:
            lines.append(ReturnLineIn(order_line_id=line.id, quantity=quantity))
    if not lines and form.ok:
        form.fail("__all__", _("Enter the quantity returned on at least one line"))
    if not form.ok:
        return None
    try:
        return ReturnIn(order_id=order.id, location=location, return_date=on, reason=reason or None,
                        tax_invoice_no=faktur or None, lines=lines)
    except ValidationError as exc:
        form.fail("__all__", validation_message(exc))
        return None


@router.post("/purchase-returns")
@html_page
async def create_return(request: Request, session: TenantSession):
    """Post a purchase return from the form; the form again (what was typed kept) when refused."""
    principal = await signed_in(request, session, "purchasing.write")
    form = Form(await signed_form(request, principal))
    order = await _order_for(session, form)
    data = read_return(form, order)
    if data is None:
        return await _form_page(request, session, form, order, 422)
    try:
        ret = await service.create_return(session, data, principal.id)
    except PolyflowError as exc:
        await session.rollback()
        common.service_error(form, exc.message)
        return await _form_page(request, session, form, await _order_for(session, form), exc.status_code)
    return see_other(f"/purchase-returns/{ret.id}?done=returned")


@router.get("/purchase-returns/{return_id}")
@html_page
async def show_return(request: Request, session: TenantSession, return_id: str):
    """One purchase return: its order, supplier, location, lines and debit note."""
    await signed_in(request, session, "purchasing.read")
    ret = await service.get_doc(session, "return", common.doc_id(return_id, MISSING))
    order = await service.get_doc(session, "order", ret.order_id)
    return page(request, "tenant/purchasing/return.html", ret=ret, order=order,
                supplier=await common.supplier_of(session, ret.partner_id),
                location=await common.location_of(session, ret.location_id),
                variants=await common.lines_info(session, ret.lines), notice=common.notice(request), title=ret.number)
