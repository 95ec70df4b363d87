"""The platform's own records: plans, billing (invoices and payments) and database servers.

    GET  /plans              every plan: price, user limit, modules, trial length (CSV/Excel)
    GET  /billing            invoices, newest first (status and tenant filters, CSV/Excel), payments recorded on them
    POST /billing/paid       number, reference (optional): record a payment (resumes a tenant suspended for it)
    POST /billing/run        issue last month's invoices now (idempotent, as the daily job does)
    GET  /servers            database servers with their tenants and free capacity (CSV/Excel)
    POST /servers            name, dsn, max_tenants (optional): register or update a server after checking its login

The same services as the admin JSON API (`admin/billing.py`, `admin/lifecycle.py`), same events.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from polyflow.kit.errors import Forbidden, InvalidInput, PolyflowError
from polyflow.platform import billing, entitlements, lifecycle
from polyflow.platform.admin.pages.common import (
    MaybeAdmin, console, field, message, notice, see_other, signed_form, to_login,
)
from polyflow.platform.admin.pages.tenant import tenant_url
from polyflow.platform.servers import lock_down
from polyflow.web.lists import Column, Filter, ListParams, list_response

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

NOTICES = {
    "paid": "The payment was recorded.",
    "paid-resumed": "The payment was recorded and the tenant, suspended for it, is active again.",
    "billed": "Billing ran: last month's invoices are issued.",
    "server": "The database server was saved.",
}

PLAN_COLUMNS = (
    Column("code", "Code"), Column("name", "Name"), Column("monthly_price", "Monthly price", kind="money"),
    Column("max_users", "Users at most", kind="num"),
    Column("modules", "Modules", value=lambda p: ", ".join(p.modules)),
    Column("trial_days", "Trial days", kind="num"), Column("is_active", "Can be chosen", kind="bool"),
)
INVOICE_COLUMNS = (
    Column("number", "Number"), Column("tenant", "Tenant", href=lambda i: tenant_url(i.tenant)),
    Column("period_start", "From", kind="date"), Column("period_end", "To", kind="date"), Column("plan", "Plan"),
    Column("amount", "Amount", kind="money"), Column("status", "Status", kind="status"),
    Column("issued_at", "Issued", kind="datetime"), Column("due_date", "Due", kind="date"),
    Column("paid_at", "Paid", kind="datetime"), Column("payment_reference", "Payment reference"),
)
SERVER_COLUMNS = (
    Column("name", "Name"), Column("host", "Host"), Column("port", "Port"), Column("admin_user", "Admin role"),
    Column("is_active", "Takes tenants", kind="bool"), Column("max_tenants", "Tenants at most", kind="num"),
    Column("tenants", "Tenants", kind="num"), Column("free", "Free", kind="num"),
)


def _window(p: ListParams, rows: list) -> list:
    """One page of rows a service returned whole (these lists are short: plans, servers, a year of invoices)."""
    return rows[p.offset:p.offset + p.limit]


@router.get("/plans")
async def plans_page(request: Request, admin: MaybeAdmin):
    """Every plan with its price, limits and modules."""
    if admin is None:
        return to_login()
    shared = console(request)
    try:
        p = ListParams.from_request(request)
    except PolyflowError as exc:
        return message(request, admin, exc)
    plans = await entitlements.list_plans(request.app.state.platform.main_engine)
    return list_response(request, p, title="Plans", columns=PLAN_COLUMNS, rows=_window(p, plans), total=len(plans),
                         filename="plans", template="admin/_list.html", search=False, admin=admin, **shared)


async def _billing(request: Request, admin, status_code: int = 200, **context):
    platform = request.app.state.platform
    shared = console(request)
    p = ListParams.from_request(request)
    status, tenant = p.filter("status") or None, p.filter("tenant") or None
    invoices = await billing.list_invoices(platform.main_engine, tenant=tenant, status=status,
                                           grace_days=platform.settings.billing_grace_days)
    issued = [i.number for i in invoices if i.status == "issued"]
    response = list_response(
        request, p, title="Billing", columns=INVOICE_COLUMNS, rows=_window(p, invoices), total=len(invoices),
        filters=(Filter("status", "Status", [(s, s) for s in billing.LIST_STATUSES]),
                 Filter("tenant", "Tenant (subdomain)", kind="text")),
        filename="invoices", template="admin/billing.html", search=False, admin=admin, issued=issued,
        **{**shared, **context})
    response.status_code = status_code
    return response


@router.get("/billing")
async def billing_page(request: Request, admin: MaybeAdmin, done: str | None = None):
    """Invoices (issued, paid, void, overdue) with their payments, and the forms that record payments."""
    if admin is None:
        return to_login()
    try:
        return await _billing(request, admin, notice=notice(NOTICES, done))
    except PolyflowError as exc:
        return message(request, admin, exc)


@router.post("/billing/paid")
async def record_payment(request: Request, admin: MaybeAdmin):
    """Record an invoice as paid (with the transfer's reference)."""
    if admin is None:
        return to_login()
    try:
        form = await signed_form(request, admin)
    except Forbidden as exc:
        return message(request, admin, exc)
    try:
        number = field(form, "number", 40)
        if not number:
            raise InvalidInput("choose the invoice that was paid")
        paid = await billing.mark_paid(request.app.state.platform, number, field(form, "reference", 200) or None,
                                       actor=admin.actor)
    except PolyflowError as exc:
        return await _billing(request, admin, 422 if exc.status_code == 404 else exc.status_code, error=exc.message)
    return see_other("/billing?done=" + ("paid-resumed" if paid.resumed else "paid"))


@router.post("/billing/run")
async def run_billing(request: Request, admin: MaybeAdmin):
    """Issue the invoices for last month now (idempotent)."""
    if admin is None:
        return to_login()
    try:
        await signed_form(request, admin)
        await billing.run(request.app.state.platform, actor=admin.actor)
    except PolyflowError as exc:
        return message(request, admin, exc)
    return see_other("/billing?done=billed")


async def _servers(request: Request, admin, status_code: int = 200, **context):
    shared = console(request)
    p = ListParams.from_request(request)
    servers = await lifecycle.list_servers(request.app.state.platform)
    response = list_response(request, p, title="Database servers", columns=SERVER_COLUMNS,
                             rows=_window(p, servers), total=len(servers), filename="servers",
                             template="admin/servers.html", search=False, admin=admin, **{**shared, **context})
    response.status_code = status_code
    return response


@router.get("/servers")
async def servers_page(request: Request, admin: MaybeAdmin, done: str | None = None):
    """Database servers: where tenants live, how many, how much room is left."""
    if admin is None:
        return to_login()
    try:
        return await _servers(request, admin, notice=notice(NOTICES, done))
    except PolyflowError as exc:
        return message(request, admin, exc)


@router.post("/servers")
async def add_server(request: Request, admin: MaybeAdmin):
    """Register (or update) a database server once its admin login is checked."""
    if admin is None:
        return to_login()
    try:
        form = await signed_form(request, admin)
    except Forbidden as exc:
        return message(request, admin, exc)
    platform = request.app.state.platform
    typed = {"name": form.get("name") if isinstance(form.get("name"), str) else "",
             "max_tenants": form.get("max_tenants") if isinstance(form.get("max_tenants"), str) else ""}
    try:
        name, dsn, limit = field(form, "name", 63), field(form, "dsn", 1000), field(form, "max_tenants", 9)
        if not dsn:
            raise InvalidInput("the DSN is required: postgresql://user:password@host:port/postgres")
        if limit and not limit.isdigit():
            raise InvalidInput("the tenant limit must be a whole number")
        info, _warnings = await lifecycle.add_server(platform, name, dsn, max_tenants=int(limit) if limit else None,
                                                     actor=admin.actor)
        await lock_down(platform.main_engine, platform.secrets, only=info.name)  # as the API does
    except PolyflowError as exc:
        # The DSN holds a password: it is never echoed back into the page.
        return await _servers(request, admin, exc.status_code, error=exc.message, typed=typed)
    return see_other("/servers?done=server")
