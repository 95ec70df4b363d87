"""Planning (MRP) page: start a run, the recent runs, and one run's proposals (the latest by default) with their
start-by dates and late flags, approved or rejected one by one or in bulk (checkboxes in one form); the
proposals export. Same services and permissions as the JSON API: ``production.read`` to look,
``production.write`` to run and decide."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.inventory import service as inventory
from polyflow.erp.pages import html_page, see_other, signed_form, signed_in, validation_message
from polyflow.erp.planning import service
from polyflow.erp.planning.schemas import MAX_BULK, MAX_HORIZON_DAYS, RunIn
from polyflow.kit.errors import InvalidInput, NotFound, PolyflowError
from polyflow.platform.tenancy.deps import TenantSession
from polyflow.web.forms import Form
from polyflow.web.i18n import _
from polyflow.web.lists import Column, Filter, ListParams, list_response

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

KINDS = ("production", "purchase")
STATUSES = ("proposed", "approved", "rejected", "superseded")
RECENT_RUNS = 10
NOTICES = {"run": "The MRP run is done: its proposals are below.",
           "approved": "Approved: the draft documents are created.",
           "rejected": "Rejected."}


def kind_text(kind: str) -> str:
    return {"production": _("Production"), "purchase": _("Purchase")}.get(kind, kind)


def id_of(value: str, missing: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(missing) from None


def _document(row) -> str | None:
    if row.production_order_id:
        return f"/production/orders/{row.production_order_id}"
    if row.purchase_request_id:
        return f"/purchase-requests/{row.purchase_request_id}"
    return None


COLUMNS = (
    ("kind", "Kind", "text"), ("sku", "SKU", "text"), ("level", "Level", "num"), ("quantity", "Quantity", "qty"),
    ("start_by", "Start by", "date"), ("needed_by", "Needed by", "date"), ("late", "Late", "bool"),
    ("sales_demand", "Sales demand", "qty"), ("order_demand", "Order demand", "qty"),
    ("dependent_demand", "Dependent demand", "qty"), ("available", "Available", "qty"),
    ("open_supply", "Open supply", "qty"), ("status", "Status", "status"),
)


async def _planning(request: Request, session: AsyncSession, status_code: int = 200, form: Form | None = None,
                    error: str | None = None, run_id: uuid.UUID | None = None):
    p = ListParams.from_request(request)
    kind = p.filter("kind") or None
    status = p.filter("status") or None
    if (kind is not None and kind not in KINDS) or (status is not None and status not in STATUSES):
        raise InvalidInput(_("Not one of the choices"))
    runs, runs_total = await service.list_runs(session, limit=RECENT_RUNS, offset=0)
    run = None
    if run_id is not None or p.filter("run"):
        run = await service.get_run(session, run_id or id_of(p.filter("run"), "MRP run not found"))
    elif runs:
        run = runs[0]
    rows, total = ([], 0) if run is None else await service.list_proposals(
        session, run.id, kind=kind, status=status, limit=p.limit, offset=p.offset)
    columns = [Column(key, _(label), kind_, value=(lambda r: kind_text(r.kind)) if key == "kind" and not p.export
                      else None) for key, label, kind_ in COLUMNS]
    columns.append(Column("document", _("Document"), value=_document))
    if p.export:
        return list_response(request, p, title=_("MRP proposals"), columns=columns, rows=rows, total=total,
                             filename=f"mrp-{run.number if run else 'none'}")
    locations, _total = await inventory.list_locations(session, q=None, kind=None, active=True, sort="code",
                                                       limit=500, offset=0)
    english = NOTICES.get(request.query_params.get("done", "")) if form is None and error is None else None
    run_form = form or Form({"horizon_days": "30", "include_sales": "1", "include_reorder": "1"})
    filters = [Filter("kind", "Kind", [(k, kind_text(k)) for k in KINDS]),
               Filter("status", "Status", [(s, s.capitalize()) for s in STATUSES])]
    response = list_response(
        request, p, title=_("Planning (MRP)"), columns=columns, rows=rows, total=total, filters=filters,
        template="tenant/planning/planning.html", search=False, run=run, runs=runs, runs_total=runs_total,
        form=run_form, error=error, notice=_(english) if english else None, max_bulk=MAX_BULK,
        locations=[(loc.code, f"{loc.code} — {loc.name}") for loc in locations], kind_text=kind_text,
        document=_document)
    response.status_code = status_code
    return response


@router.get("/planning")
@html_page
async def planning(request: Request, session: TenantSession):
    """MRP: start a run, the recent runs, one run's proposals (the latest by default); export."""
    await signed_in(request, session, "production.read")
    return await _planning(request, session)


@router.post("/planning/run")
@html_page
async def run_mrp(request: Request, session: TenantSession):
    """Run MRP (the earlier runs' open proposals are superseded) and show its proposals."""
    principal = await signed_in(request, session, "production.write")
    f = Form(await signed_form(request, principal))
    horizon = f.integer("horizon_days", required=True, min=0, max=MAX_HORIZON_DAYS)
    location = f.text("location", max_length=64) or None
    if not f.ok:
        return await _planning(request, session, 422, form=f)
    try:
        run = await service.run_mrp(session, RunIn(horizon_days=horizon, include_sales=f.bool("include_sales"),
                                                   include_reorder=f.bool("include_reorder"), location=location),
                                    principal.id)
    except ValidationError as exc:
        f.fail("__all__", validation_message(exc))
        return await _planning(request, session, 422, form=f)
    except PolyflowError as exc:
        await session.rollback()
        f.fail("location" if "location" in exc.message else "__all__", exc.message)
        return await _planning(request, session, exc.status_code, form=f)
    return see_other(f"/planning?run={run.id}&done=run")


@router.post("/planning/decide")
@html_page
async def decide(request: Request, session: TenantSession):
    """Approve (all or none, the purchases in one request) or reject the ticked proposals of one run."""
    principal = await signed_in(request, session, "production.write")
    f = Form(await signed_form(request, principal))
    run_id = f.uuid("run_id", required=True)
    action = f.choice("action", ("approve", "reject"), required=True)
    ids = []
    for raw in f.raw_list("proposal_ids")[:MAX_BULK + 1]:
        try:
            ids.append(uuid.UUID(raw))
        except ValueError:
            raise InvalidInput(_("Not one of the choices")) from None
    back = f"/planning?run={run_id}" if run_id else "/planning"
    if not f.ok:
        raise InvalidInput(next(iter(f.errors.values())))
    if not ids:
        return await _back(request, session, run_id, 422, _("Tick at least one proposal"))
    if len(ids) > MAX_BULK:
        return await _back(request, session, run_id, 422, _("At most %(n)s proposals at once", n=MAX_BULK))
    try:
        if action == "approve":
            await service.approve_many(session, run_id, ids, principal.id)
        else:
            await service.get_run(session, run_id)
            for proposal_id in dict.fromkeys(ids):
                # One transaction: a refusal of any leaves all undecided, like the bulk approval.
                if (await service.reject(session, proposal_id, principal.id)).run_id != run_id:
                    raise InvalidInput("some of the ticked proposals are not proposals of this run")
    except PolyflowError as exc:
        await session.rollback()
        if exc.status_code == 404 and action == "approve":
            raise
        return await _back(request, session, run_id, exc.status_code, exc.message)
    return see_other(f"{back}&done={'approved' if action == 'approve' else 'rejected'}")


async def _back(request: Request, session: AsyncSession, run_id: uuid.UUID, status_code: int, message: str):
    # The run's page again, with the message on top (the ticks are not kept: the proposals may have changed).
    return await _planning(request, session, status_code, error=message, run_id=run_id)


async def _single(request: Request, session: AsyncSession, proposal_id: str, action: str):
    principal = await signed_in(request, session, "production.write")
    ident = id_of(proposal_id, "MRP proposal not found")
    # The buttons sit in the run's bulk form (formaction): its run_id says which run to show on a refusal.
    run_id = Form(await signed_form(request, principal)).uuid("run_id")
    try:
        out = await (service.approve if action == "approve" else service.reject)(session, ident, principal.id)
    except PolyflowError as exc:
        await session.rollback()
        if exc.status_code == 404:
            raise
        return await _planning(request, session, exc.status_code, error=exc.message, run_id=run_id)
    return see_other(f"/planning?run={out.run_id}&done={'approved' if action == 'approve' else 'rejected'}")


@router.post("/planning/proposals/{proposal_id}/approve")
@html_page
async def approve(request: Request, session: TenantSession, proposal_id: str):
    """Approve one proposal: a draft production order or purchase request."""
    return await _single(request, session, proposal_id, "approve")


@router.post("/planning/proposals/{proposal_id}/reject")
@html_page
async def reject(request: Request, session: TenantSession, proposal_id: str):
    """Reject one proposal."""
    return await _single(request, session, proposal_id, "reject")
