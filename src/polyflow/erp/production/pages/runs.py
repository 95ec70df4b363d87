"""Production run pages: the list, the new-run form (product, quantity, route, dates -> one draft order per route
step) and the run's release and cancel. A run's orders are the order list filtered by the run."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.models.production import ORDER_STATES
from polyflow.erp.pages import html_page, page, see_other, signed_form, signed_in, validation_message
from polyflow.erp.production.floor import routes
from polyflow.erp.production.orders import repository, service
from polyflow.erp.production.orders.schemas import RunIn
from polyflow.erp.production.pages.common import PRIORITY_LABELS, id_from_path, label, options
from polyflow.kit.errors import PolyflowError
from polyflow.platform.tenancy.deps import TenantSession
from polyflow.web import fmt
from polyflow.web.forms import Form
from polyflow.web.i18n import _
from polyflow.web.lists import Column, Filter, ListParams, list_response

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

MISSING = "production run not found"


@router.get("/production/runs")
@html_page
async def run_list(request: Request, session: TenantSession):
    """Production runs, newest first, with status and priority filters; exportable."""
    await signed_in(request, session, "production.read")
    p = ListParams.from_request(request, sorts=(), default_sort=None)
    status, priority = p.filter("status"), p.filter("priority")
    items, total = await service.list_runs(session, status=status if status in ORDER_STATES else None,
                                           priority=priority if priority in PRIORITY_LABELS else None,
                                           limit=p.limit, offset=p.offset)
    variants = await repository.variants(session, [r.variant_id for r in items])
    rows = [{"id": r.id, "number": r.number or _("(draft)"), "sku": variants[r.variant_id].sku,
             "product": variants[r.variant_id].product.name, "quantity": r.quantity,
             "priority": label(PRIORITY_LABELS, r.priority), "planned_start": r.planned_start,
             "due_date": r.due_date, "status": r.status} for r in items]
    columns = [
        Column("number", _("Run number"), href=lambda r: f"/production/orders?run={r['id']}"),
        Column("sku", _("SKU")), Column("product", _("Product")), Column("quantity", _("Quantity"), "qty"),
        Column("priority", _("Priority")), Column("planned_start", _("Planned start"), "date"),
        Column("due_date", _("Due date"), "date"), Column("status", _("Status"), "status"),
    ]
    filters = [Filter("status", "Status", [(s, fmt.STATUS_LABELS[s]) for s in ORDER_STATES]),
               Filter("priority", "Priority", list(PRIORITY_LABELS.items()))]
    actions = [(_("New run"), "/production/runs/new")] if request.state.viewer.may("production.write") else []
    return list_response(request, p, title=_("Production runs"), filename="production-runs", columns=columns,
                         rows=rows, total=total, filters=filters, actions=actions, search=False)


async def _form_page(request: Request, session: AsyncSession, form: Form, status_code: int = 200) -> HTMLResponse:
    items, _n = await routes.list_routes(session, product_id=None, active=True, limit=500, offset=0)
    views = await routes.route_views(session, items)
    products = sorted({v["product_sku"] for v in views})
    route_options = [(str(v["id"]), f"{v['code']} — {v['product_sku']}{' ★' if v['is_default'] else ''}")
                     for v in views]
    return page(request, "tenant/production/run_form.html", status_code, title=_("New production run"), form=form,
                products=[(sku, sku) for sku in products], routes=route_options,
                priorities=options(PRIORITY_LABELS))


@router.get("/production/runs/new")
@html_page
async def new_run(request: Request, session: TenantSession):
    """The new-run form."""
    await signed_in(request, session, "production.write")
    return await _form_page(request, session, Form({"priority": "normal"}))


@router.post("/production/runs")
@html_page
async def create_run(request: Request, session: TenantSession):
    """Create a draft run (one draft order per step of the route); then its orders are shown."""
    principal = await signed_in(request, session, "production.write")
    f = Form(await signed_form(request, principal))
    sku = f.text("sku", required=True, max_length=64)
    quantity = f.number("quantity", required=True, positive=True, places=3, max=Decimal("1e12"))
    route_id = f.uuid("route_id")
    priority = f.choice("priority", PRIORITY_LABELS) or "normal"
    planned_start = f.date("planned_start")
    due_date = f.date("due_date")
    note = f.text("note", max_length=500)
    if planned_start and due_date and due_date < planned_start:
        f.fail("due_date", _("The due date is before the planned start"))
    if not f.ok:
        return await _form_page(request, session, f, 422)
    try:
        data = RunIn(sku=sku, quantity=quantity, route_id=route_id, priority=priority, planned_start=planned_start,
                     due_date=due_date, note=note or None)
    except ValidationError as exc:
        f.fail("__all__", validation_message(exc))
        return await _form_page(request, session, f, 422)
    try:
        run = await service.create_run(session, data, principal.id)
    except PolyflowError as exc:
        await session.rollback()
        f.fail("__all__", exc.message)
        return await _form_page(request, session, f, exc.status_code)
    return see_other(f"/production/orders?run={run.id}&sort=number&done=run_created")


@router.post("/production/runs/{run_id}/release")
@html_page
async def release_run(request: Request, session: TenantSession, run_id: str):
    """draft -> released: the run and every order numbered, the first step's materials reserved."""
    principal = await signed_in(request, session, "production.write")
    await signed_form(request, principal)
    run = await service.release_run(session, id_from_path(run_id, MISSING))
    return see_other(f"/production/orders?run={run.id}&sort=number&done=run_released")


@router.post("/production/runs/{run_id}/cancel")
@html_page
async def cancel_run(request: Request, session: TenantSession, run_id: str):
    """Cancel a run and its orders (nothing issued or produced yet)."""
    principal = await signed_in(request, session, "production.write")
    await signed_form(request, principal)
    run = await service.cancel_run(session, id_from_path(run_id, MISSING))
    return see_other(f"/production/orders?run={run.id}&done=run_cancelled")
