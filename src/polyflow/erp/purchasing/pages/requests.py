"""Purchase request pages (requests typed in the API or proposed by MRP): the list (status, search, CSV /
Excel), one request with its lines, and its transitions: submit, approve / reject, convert to a draft
purchase order for a chosen supplier."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from polyflow.erp.pages import html_page, page, see_other, signed_form, signed_in, validation_message
from polyflow.erp.purchasing import service
from polyflow.erp.purchasing.pages import common
from polyflow.erp.purchasing.schemas import ConvertIn
from polyflow.kit.errors import PolyflowError
from polyflow.platform.tenancy.deps import TenantSession
from polyflow.web.forms import Form
from polyflow.web.i18n import _
from polyflow.web.lists import Column, Filter, ListParams, list_response

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
MISSING = "purchase request not found"
STATUSES = (("draft", "Draft"), ("submitted", "Submitted"), ("approved", "Approved"), ("rejected", "Rejected"),
            ("converted", "Converted to a PO"))
LABELS = dict(STATUSES)
FLOW = (("draft", "Draft"), ("submitted", "Submitted"), ("approved", "Approved"), ("converted", "Converted to a PO"))


def status_text(status: str) -> str:
    return _(LABELS[status]) if status in LABELS else status


@router.get("/purchase-requests")
@html_page
async def list_requests(request: Request, session: TenantSession):
    """Purchase requests, newest first: status filter, search over number and note, export."""
    await signed_in(request, session, "purchasing.read")
    p = ListParams.from_request(request, sorts=("date", "number", "status"), default_sort="-date")
    status = p.filter("status")
    rows, total = await service.browse(session, "request", q=p.q or None,
                                       status=status if status in LABELS else None,
                                       date_from=common.list_date(p, "from"), date_to=common.list_date(p, "to"),
                                       sort=p.order or "-date", limit=p.limit, offset=p.offset)
    items = [{"id": r.id, "number": r.number or _("(draft)"), "request_date": r.request_date,
              "status": status_text(r.status), "lines": len(r.lines), "note": r.note,
              "order_id": r.order_id} for r, _c, _n in rows]
    columns = [
        Column("number", _("Number"), sort="number", href=lambda r: f"/purchase-requests/{r['id']}"),
        Column("request_date", _("Date"), "date", sort="date"),
        Column("status", _("Status"), sort="status"),
        Column("lines", _("Lines"), "num"),
        Column("note", _("Note")),
    ]
    filters = [Filter("status", "Status", STATUSES), Filter("from", "From", kind="date"),
               Filter("to", "To", kind="date")]
    return list_response(request, p, title=_("Purchase requests"), columns=columns, rows=items, total=total,
                         filters=filters, filename="purchase-requests", placeholder=_("Number or note"))


def request_actions(req, viewer) -> list[tuple]:
    if not viewer.may("purchasing.write"):
        return []
    base = f"/purchase-requests/{req.id}"
    if req.status == "draft":
        return [(_("Submit"), f"{base}/submit", "primary")]
    if req.status == "submitted":
        return [(_("Approve"), f"{base}/approve", "primary"), (_("Reject"), f"{base}/reject", "danger")]
    return []


async def _detail(request: Request, session, req, form: Form | None = None, status_code: int = 200):
    steps = FLOW if req.status != "rejected" else (("draft", "Draft"), ("submitted", "Submitted"),
                                                  ("rejected", "Rejected"))
    convert = req.status == "approved" and request.state.viewer.may("purchasing.write")
    return page(request, "tenant/purchasing/request.html", status_code, req=req,
                status=status_text(req.status), steps=[(k, _(label)) for k, label in steps],
                buttons=request_actions(req, request.state.viewer),
                variants=await common.lines_info(session, req.lines),
                suppliers=await common.supplier_choices(session) if convert else [], convert=convert,
                form=form or Form({}), notice=common.notice(request), title=req.number or _("Draft purchase request"))


@router.get("/purchase-requests/{request_id}")
@html_page
async def show_request(request: Request, session: TenantSession, request_id: str):
    """One purchase request: its lines (needed by), status and the actions allowed now."""
    await signed_in(request, session, "purchasing.read")
    req = await service.get_doc(session, "request", common.doc_id(request_id, MISSING))
    return await _detail(request, session, req)


async def _transition(request: Request, session, request_id: str, action, done: str):
    principal = await signed_in(request, session, "purchasing.write")
    await signed_form(request, principal)
    req = await action(common.doc_id(request_id, MISSING), principal.id)
    return see_other(f"/purchase-requests/{req.id}?done={done}")


@router.post("/purchase-requests/{request_id}/submit")
@html_page
async def submit_request(request: Request, session: TenantSession, request_id: str):
    """draft -> submitted (numbered)."""
    return await _transition(request, session, request_id, lambda rid, uid: service.submit_request(session, rid),
                             "submitted")


@router.post("/purchase-requests/{request_id}/approve")
@html_page
async def approve_request(request: Request, session: TenantSession, request_id: str):
    """submitted -> approved."""
    return await _transition(request, session, request_id,
                             lambda rid, uid: service.decide_request(session, rid, True, uid), "approved")


@router.post("/purchase-requests/{request_id}/reject")
@html_page
async def reject_request(request: Request, session: TenantSession, request_id: str):
    """submitted -> rejected."""
    return await _transition(request, session, request_id,
                             lambda rid, uid: service.decide_request(session, rid, False, uid), "rejected")


@router.post("/purchase-requests/{request_id}/convert")
@html_page
async def convert_request(request: Request, session: TenantSession, request_id: str):
    """approved -> converted: a draft purchase order to the chosen supplier (prices from its price list)."""
    principal = await signed_in(request, session, "purchasing.write")
    form = Form(await signed_form(request, principal))
    rid = common.doc_id(request_id, MISSING)
    partner_id = form.uuid("partner_id", required=True)
    order_date, expected = form.date("order_date"), form.date("expected_date")
    data = None
    if form.ok:
        try:
            data = ConvertIn(partner_id=partner_id, order_date=order_date, expected_date=expected)
        except ValidationError as exc:
            form.fail("__all__", validation_message(exc))
    if data is None:
        return await _detail(request, session, await service.get_doc(session, "request", rid), form, 422)
    try:
        order = await service.convert_request(session, rid, data, principal.id)
    except PolyflowError as exc:
        await session.rollback()
        common.service_error(form, exc.message)
        return await _detail(request, session, await service.get_doc(session, "request", rid), form,
                             exc.status_code)
    return see_other(f"/purchase-orders/{order.id}?done=converted")
