"""Lot pages: the lot list (search, kind/status/location filters, export), one lot with its facts, weights,
location, inspections and its trace both ways, and the inspection form (pass / fail / quarantine). The same
services and permissions as the JSON API: reading needs production.read, inspecting production.write."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.inventory import service as inventory
from polyflow.erp.pages import html_page, page, see_other, signed_form, signed_in, validation_message
from polyflow.erp.production.lots import inspections, service
from polyflow.erp.production.lots.schemas import InspectionIn
from polyflow.erp.production.pages.common import STAGE_LABELS, id_from_path, label
from polyflow.kit.errors import PolyflowError
from polyflow.platform.tenancy.deps import TenantSession
from polyflow.web import fmt
from polyflow.web.forms import Form
from polyflow.web.i18n import _
from polyflow.web.lists import Column, Filter, ListParams, list_response

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

MISSING = "lot not found"
KIND_LABELS = {"supplier": "Supplier lot", "roll": "Roll", "bale": "Bale", "batch": "Batch", "regrind": "Regrind"}
STATUSES = ("available", "quarantine", "rejected", "consumed", "voided")
RESULT_LABELS = {"pass": "Pass (release)", "fail": "Fail (scrap)", "quarantine": "Quarantine"}
ACTION_LABELS = {"quarantined": "Moved to quarantine", "released": "Released", "scrapped": "Scrapped",
                 "quarantined_for_regrind": "Kept in quarantine for regrind", "rejected": "Rejected",
                 "recorded": "Recorded"}
LINK_LABELS = {"consumed": "Consumed", "input_order": "Input of the next step", "produced": "Produced"}
NOTICES = {"inspected": "The inspection is recorded."}


def _row(x: dict) -> dict:
    return {**x, "kind_label": label(KIND_LABELS, x["kind"]), "location_code": x["location_code"] or ""}


@router.get("/production/lots")
@html_page
async def lot_list(request: Request, session: TenantSession):
    """Lots (supplier lots, rolls, bales, batches, regrind), newest first: search, filters, export."""
    await signed_in(request, session, "production.read")
    p = ListParams.from_request(request, sorts=(), default_sort=None)
    kind, status = p.filter("kind"), p.filter("status")
    locations, _n = await inventory.list_locations(session, q=None, kind=None, active=None, sort="code", limit=500,
                                                   offset=0)
    codes = {loc.code for loc in locations}
    location = p.filter("location")
    sku = (p.filter("sku") or "").strip()[:64] or None
    items, total = await service.list_lots(
        session, variant_id=None, sku=sku, kind=kind if kind in KIND_LABELS else None,
        status=status if status in STATUSES else None, supplier_lot_no=None,
        location=location if location in codes else None, produced_from=None, produced_to=None,
        q=(p.q or "")[:64] or None, limit=p.limit, offset=p.offset)
    columns = [
        Column("number", _("Lot number"), href=lambda r: f"/production/lots/{r['id']}"),
        Column("kind_label", _("Kind")), Column("sku", _("SKU")), Column("status", _("Status"), "status"),
        Column("location_code", _("Location")), Column("quantity", _("Quantity"), "qty"),
        Column("remaining", _("Remaining"), "qty"), Column("net_weight", _("Net weight"), "qty"),
        Column("supplier_lot_no", _("Supplier lot")), Column("produced_on", _("Produced on"), "date"),
    ]
    filters = [
        Filter("kind", "Kind", list(KIND_LABELS.items())),
        Filter("status", "Status", [(s, fmt.STATUS_LABELS[s]) for s in STATUSES]),
        Filter("location", "Location", [(loc.code, loc.code) for loc in locations]),
        Filter("sku", "SKU", kind="text"),
    ]
    return list_response(request, p, title=_("Lots and traceability"), filename="lots", columns=columns,
                         rows=[_row(x) for x in items], total=total, filters=filters,
                         placeholder=_("Lot or supplier lot number"))


async def lot_page(request: Request, session: AsyncSession, lot_id: uuid.UUID, status_code: int = 200,
                   form: Form | None = None) -> HTMLResponse:
    """Render the lot's page (after a refused inspection: with the form as typed and the reason)."""
    lot = await service.get_lot(session, lot_id)
    trace = await service.trace(session, lot_id, "both")
    may_inspect = request.state.viewer.may("production.write") and lot.status in inspections.INSPECTABLE
    done = NOTICES.get(request.query_params.get("done") or "")
    return page(request, "tenant/production/lot.html", status_code, title=lot.number, lot=lot,
                back=sorted(trace.back or [], key=lambda n: n.depth),
                forward=sorted(trace.forward or [], key=lambda n: n.depth), truncated=trace.truncated,
                may_inspect=may_inspect, form=form, notice=_(done) if done else None,
                results=[(k, _(v)) for k, v in RESULT_LABELS.items()],
                kind_label=lambda k: label(KIND_LABELS, k), stage_label=lambda s: label(STAGE_LABELS, s),
                result_label=lambda r: label(RESULT_LABELS, r), action_label=lambda a: label(ACTION_LABELS, a),
                link_label=lambda k: label(LINK_LABELS, k))


@router.get("/production/lots/{lot_id}")
@html_page
async def lot_detail(request: Request, session: TenantSession, lot_id: str):
    """One lot: facts, weights, where it is, its inspections and its trace back and forward."""
    await signed_in(request, session, "production.read")
    return await lot_page(request, session, id_from_path(lot_id, MISSING))


@router.post("/production/lots/{lot_id}/inspect")
@html_page
async def inspect(request: Request, session: TenantSession, lot_id: str):
    """Inspect the lot: quarantine, pass or fail, with a note (stock moves as the service decides)."""
    principal = await signed_in(request, session, "production.write")
    form = Form(await signed_form(request, principal))
    lid = id_from_path(lot_id, MISSING)
    result = form.choice("result", RESULT_LABELS, required=True)
    inspector = form.text("inspector", max_length=100)
    note = form.text("note", max_length=500)
    on = form.date("date")
    if not form.ok:
        return await lot_page(request, session, lid, 422, form)
    try:
        data = InspectionIn(lot_id=lid, result=result, inspector=inspector or None, note=note or None,
                            inspected_on=on)
    except ValidationError as exc:
        form.fail("__all__", validation_message(exc))
        return await lot_page(request, session, lid, 422, form)
    try:
        await inspections.inspect(session, data, principal.id)
    except PolyflowError as exc:
        await session.rollback()
        form.fail("__all__", exc.message)
        return await lot_page(request, session, lid, exc.status_code, form)
    return see_other(f"/production/lots/{lid}?done=inspected")
