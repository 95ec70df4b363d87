"""The console's tenants table: ``GET /tenants``.

Status, plan, schema revision, server, database size, open connections and last activity for every tenant,
with filters (status, plan, server), a search (subdomain, name, owner's email), sortable columns, pages and
the same rows as CSV or Excel (``?export=csv|xlsx``, raw numbers: sizes in bytes). The live figures come
from each database server in one query per server (`admin.tenants.tenant_table`), never one per tenant.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from polyflow.kit.errors import InvalidInput, PolyflowError
from polyflow.platform import entitlements, lifecycle
from polyflow.platform.admin import tenants as admin_tenants
from polyflow.platform.admin.pages.common import MaybeAdmin, console, message, notice, to_login
from polyflow.platform.admin.pages.tenant import tenant_url
from polyflow.platform.models import TENANT_STATUSES
from polyflow.web.lists import Column, Filter, ListParams, list_response

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

NOTICES = {"deleted": "The tenant was deleted (a backup was taken first); its subdomain is free again."}
SORTS = tuple(admin_tenants.TABLE_SORTS) + admin_tenants.LIVE_SORTS
COLUMNS = (
    Column("subdomain", "Subdomain", sort="subdomain", href=lambda r: tenant_url(r.subdomain)),
    Column("name", "Name", sort="name"),
    Column("status", "Status", kind="status", sort="status"),
    Column("plan", "Plan", sort="plan"),
    Column("schema_revision", "Schema revision", sort="revision"),
    Column("server", "Server", sort="server"),
    Column("db_size", "Database size", kind="bytes", sort="size"),
    Column("connections", "Connections", kind="num", sort="connections"),
    Column("last_activity", "Last activity", kind="datetime", sort="activity"),
    Column("created_at", "Created", kind="datetime", sort="created"),
)


@router.get("/tenants")
async def tenants_table(request: Request, admin: MaybeAdmin, done: str | None = None):
    """Every tenant with its live database figures: filter, search, sort, page, export."""
    if admin is None:
        return to_login()
    platform = request.app.state.platform
    shared = console(request)
    try:
        p = ListParams.from_request(request, sorts=SORTS, default_sort="subdomain")
        status, plan, server = p.filter("status"), p.filter("plan"), p.filter("server")
        if status and status not in TENANT_STATUSES:
            raise InvalidInput(f"unknown status '{status}'")
        plans = await entitlements.list_plans(platform.main_engine)
        servers = await lifecycle.list_servers(platform)
        rows, total, warnings = await admin_tenants.tenant_table(
            platform, q=p.q, status=status, plan=plan, server=server, sort=p.sort or "subdomain", desc=p.desc,
            limit=p.limit, offset=p.offset)
    except PolyflowError as exc:
        return message(request, admin, exc)
    filters = (
        Filter("status", "Status", [(s, s) for s in TENANT_STATUSES]),
        Filter("plan", "Plan", [(pl.code, pl.name) for pl in plans]),
        Filter("server", "Server", [(s.name, s.name) for s in servers]),
    )
    return list_response(
        request, p, title="Tenants", columns=COLUMNS, rows=rows, total=total, filters=filters,
        actions=[("New tenant", "/tenants/new")], filename="tenants", template="admin/_list.html",
        admin=admin, warnings=warnings, notice=notice(NOTICES, done), **shared)
