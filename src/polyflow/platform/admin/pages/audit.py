"""The platform audit log: ``GET /audit``.

Every platform event (sign-ins, tenant changes, plans, billing, servers), newest first, filtered by actor
and action (prefixes: ``admin:`` or ``tenant.``), tenant subdomain and a day range (UTC), with pages and
CSV/Excel export of the same rows.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.kit.errors import PolyflowError
from polyflow.platform.admin import tenants as admin_tenants
from polyflow.platform.admin.pages.common import MaybeAdmin, console, message, parse_day, to_login
from polyflow.platform.admin.pages.tenant import tenant_url
from polyflow.web.lists import Column, Filter, ListParams, list_response

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

COLUMNS = (
    Column("at", "Time", kind="datetime", sort="at"),
    Column("actor", "Actor"),
    Column("action", "Action"),
    Column("tenant", "Tenant", href=lambda e: tenant_url(e.tenant) if e.tenant else None),
    Column("detail", "Detail", value=lambda e: json.dumps(e.detail, ensure_ascii=False, sort_keys=True,
                                                          default=str) if e.detail else ""),
)


def _day(p: ListParams, name: str) -> datetime | None:
    day = parse_day(p.filter(name), f"'{name}' day")
    return None if day is None else datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


@router.get("/audit")
async def audit_page(request: Request, admin: MaybeAdmin):
    """The platform audit log with filters and export."""
    if admin is None:
        return to_login()
    shared = console(request)
    try:
        p = ListParams.from_request(request, sorts=("at",), default_sort="-at")
        since, until = _day(p, "from"), _day(p, "to")
        async with AsyncSession(request.app.state.platform.main_engine) as session:
            rows, total = await admin_tenants.audit_log(
                session, actor=p.filter("actor"), action=p.filter("action"), tenant=p.filter("tenant"),
                since=since, until=until + timedelta(days=1) if until else None, desc=p.desc,
                limit=p.limit, offset=p.offset)
    except PolyflowError as exc:
        return message(request, admin, exc)
    filters = (Filter("actor", "Actor starts with", kind="text"), Filter("action", "Action starts with", kind="text"),
               Filter("tenant", "Tenant (subdomain)", kind="text"), Filter("from", "From", kind="date"),
               Filter("to", "To", kind="date"))
    return list_response(request, p, title="Audit log", columns=COLUMNS, rows=rows, total=total, filters=filters,
                         filename="platform-audit", template="admin/_list.html", search=False, admin=admin,
                         empty="No events match.", **shared)
