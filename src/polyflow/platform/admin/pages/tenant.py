"""The admin console's tenant pages (admin host, signed-in super-admins only): one tenant's state, its
recent platform events and backups, and the forms that change it.

    GET  /tenants/{subdomain}            status, plan, server, database, owner, onboarding, events, backups
    POST /tenants/{subdomain}/suspend    reason (optional, at most 200 characters)
    POST /tenants/{subdomain}/resume
    POST /tenants/{subdomain}/backup     back up now
    POST /tenants/{subdomain}/plan       plan (one of the active plans)

Pages are for people: only the ``pf_admin`` session cookie opens them (no session: 303 to /login, and
nothing is done); the operator token and any tenant credential mean nothing here. Every form carries
the session's CSRF token and must come from this site (403 page otherwise, before the body is acted
on). A successful form redirects (303) back to the page with a fixed notice code, never user text;
an error the admin can cause re-renders the page with its message and 4xx status.

The work is the admin JSON API's own (the same services, the same audit events with the actor
``admin:<email>``); only the short read of a tenant's recent events is new, because the API has none.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from polyflow.kit.errors import Forbidden, InvalidInput, NotFound, PolyflowError
from polyflow.platform import backups, entitlements
from polyflow.platform.admin import identity
from polyflow.platform.admin import tenants as admin_tenants
from polyflow.platform.admin.auth import optional_admin
from polyflow.platform.models import PlatformEvent
from polyflow.platform.runtime import Platform
from polyflow.web import render
from polyflow.web.csrf import check_form_token, check_same_origin

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

MaybeAdmin = Annotated[identity.SignedIn | None, Depends(optional_admin)]

EVENTS_SHOWN = 20
BACKUPS_SHOWN = 20
MAX_REASON = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# What the page says after a successful form (the redirect names one of these; no free text is reflected).
NOTICES = {
    "suspended": "The tenant is suspended: its host refuses every request.",
    "resumed": "The tenant is active again.",
    "backed-up": "A backup was taken.",
    "plan": "The plan was changed.",
}


# --- read model ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventRow:
    actor: str
    action: str
    created_at: datetime
    detail: str  # compact JSON, '' when empty


@dataclass(frozen=True)
class TenantView:
    detail: admin_tenants.TenantDetail
    db_name: str
    events: list[EventRow]
    backups: list[backups.BackupInfo]  # newest first, at most BACKUPS_SHOWN
    backups_total: int
    plans: list[entitlements.PlanInfo]  # the ones that can be chosen


async def recent_events(session: AsyncSession, tenant_id: uuid.UUID, limit: int = EVENTS_SHOWN) -> list[EventRow]:
    """A tenant's newest platform events, newest first."""
    rows = (await session.execute(
        select(PlatformEvent).where(PlatformEvent.tenant_id == tenant_id)
        .order_by(PlatformEvent.created_at.desc(), PlatformEvent.id.desc()).limit(limit)
    )).scalars().all()
    return [EventRow(e.actor, e.action, e.created_at,
                     json.dumps(e.detail, ensure_ascii=False, sort_keys=True, default=str) if e.detail else "")
            for e in rows]


async def tenant_view(platform: Platform, subdomain: str) -> TenantView:
    """Everything the tenant page shows (NotFound for an unknown or deleted tenant)."""
    async with AsyncSession(platform.main_engine) as session:
        detail = await admin_tenants.tenant_detail(session, subdomain)
        tenant = await admin_tenants.get_tenant(session, subdomain)  # db_name and id: not in TenantDetail
        events = await recent_events(session, tenant.id)
        db_name = tenant.db_name
    taken = await backups.list_backups(platform, subdomain)
    plans = [p for p in await entitlements.list_plans(platform.main_engine) if p.is_active]
    return TenantView(detail, db_name, events, list(reversed(taken))[:BACKUPS_SHOWN], len(taken), plans)


# --- rendering helpers ---------------------------------------------------------------------------------


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _size(n: int | None) -> str:
    if n is None:
        return "—"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # not reached


def _page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    response = render(request, template, status_code, when=_when, size=_size, **context)
    response.headers["Cache-Control"] = "no-store"
    return response


def _message(request: Request, admin: identity.SignedIn, exc: PolyflowError) -> HTMLResponse:
    response = _page(request, "admin/message.html", exc.status_code, admin=admin, error=exc.message)
    if exc.headers and "Retry-After" in exc.headers:
        response.headers["Retry-After"] = exc.headers["Retry-After"]
    return response


async def _tenant_page(request: Request, admin: identity.SignedIn, subdomain: str, status_code: int = 200,
                       **context: Any) -> HTMLResponse:
    """The tenant page; the 404 page when there is no such tenant (any more)."""
    try:
        view = await tenant_view(request.app.state.platform, subdomain)
    except NotFound as exc:
        return _message(request, admin, exc)
    return _page(request, "admin/tenant.html", status_code, admin=admin, view=view, t=view.detail, **context)


def _to_login() -> RedirectResponse:
    return RedirectResponse("/login", status_code=303)


def _field(form: FormData, name: str, max_length: int) -> str:
    """A single-line text field ('' when absent), trimmed; too long or with control characters is a 422."""
    value = form.get(name)
    if not isinstance(value, str):
        return ""
    value = value.strip()
    if len(value) > max_length:
        raise InvalidInput(f"the {name} is too long (at most {max_length} characters)")
    if _CONTROL.search(value):
        raise InvalidInput(f"the {name} must not contain control characters")
    return value


async def _signed_form(request: Request, admin: identity.SignedIn) -> FormData:
    """The posted form, once it is known to come from this site with the session's CSRF token (else 403)."""
    check_same_origin(request)  # before the body is even read
    form = await request.form()
    token = form.get("csrf_token")
    check_form_token(admin.csrf_token, token if isinstance(token, str) else None)
    return form


async def _act(request: Request, admin: identity.SignedIn | None, subdomain: str, action) -> HTMLResponse:
    """Run one form's action: 303 to /login without a session; 403 page for a forged form; on success 303
    back to the tenant page with the action's notice code; an error the admin caused re-renders the page."""
    if admin is None:
        return _to_login()
    try:
        form = await _signed_form(request, admin)
    except Forbidden as exc:
        return _message(request, admin, exc)
    platform = request.app.state.platform
    try:
        # An unknown (or malformed) name is the 404 page, whatever the form; checked before any service runs.
        async with AsyncSession(platform.main_engine) as session:
            await admin_tenants.get_tenant(session, subdomain)
        done = await action(platform, form, admin.actor)
    except PolyflowError as exc:
        if isinstance(exc, NotFound) and exc.message.startswith("no tenant"):
            return _message(request, admin, exc)  # unknown, or gone meanwhile
        return await _tenant_page(request, admin, subdomain, exc.status_code, error=exc.message)
    # The action found the tenant, so the subdomain is a valid name; quoted all the same.
    return RedirectResponse(f"/tenants/{quote(subdomain, safe='')}?done={done}", status_code=303)


# --- routes --------------------------------------------------------------------------------------------


@router.get("/tenants/{subdomain}")
async def tenant_page(request: Request, admin: MaybeAdmin, subdomain: str, done: str | None = None):
    """One tenant: its state, recent events and backups, and the forms that change it."""
    if admin is None:
        return _to_login()
    return await _tenant_page(request, admin, subdomain, notice=NOTICES.get((done or "")[:20]))


@router.post("/tenants/{subdomain}/suspend")
async def suspend_form(request: Request, admin: MaybeAdmin, subdomain: str):
    """Suspend an active tenant (optional reason)."""

    async def suspend(platform: Platform, form: FormData, actor: str) -> str:
        reason = _field(form, "reason", MAX_REASON) or None
        # The JSON API's own route: one definition of the rule, the default reason and the event.
        await admin_tenants.suspend_tenant(request, subdomain, actor, admin_tenants.StatusChange(reason=reason))
        return "suspended"

    return await _act(request, admin, subdomain, suspend)


@router.post("/tenants/{subdomain}/resume")
async def resume_form(request: Request, admin: MaybeAdmin, subdomain: str):
    """Serve a suspended tenant again."""

    async def resume(platform: Platform, form: FormData, actor: str) -> str:
        await admin_tenants.resume_tenant(request, subdomain, actor)
        return "resumed"

    return await _act(request, admin, subdomain, resume)


@router.post("/tenants/{subdomain}/backup")
async def backup_form(request: Request, admin: MaybeAdmin, subdomain: str):
    """Back up the tenant's database now."""

    async def back_up(platform: Platform, form: FormData, actor: str) -> str:
        await backups.backup(platform, subdomain, actor=actor)
        return "backed-up"

    return await _act(request, admin, subdomain, back_up)


@router.post("/tenants/{subdomain}/plan")
async def plan_form(request: Request, admin: MaybeAdmin, subdomain: str):
    """Move the tenant to another (active) plan."""

    async def change_plan(platform: Platform, form: FormData, actor: str) -> str:
        code = _field(form, "plan", 40)
        if not code:
            raise InvalidInput("choose a plan")
        await entitlements.set_plan(platform, subdomain, code, actor=actor)
        return "plan"

    return await _act(request, admin, subdomain, change_plan)
