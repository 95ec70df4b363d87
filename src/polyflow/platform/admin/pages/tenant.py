"""One tenant's console page (admin host, signed-in super-admins only): its state, recent platform events,
backups, modules, and the forms that change it.

    GET  /tenants/{subdomain}                     status, plan, server, database, owner, onboarding, events,
                                                  backups, modules
    POST /tenants/{subdomain}/suspend             reason (optional, at most 200 characters)
    POST /tenants/{subdomain}/resume
    POST /tenants/{subdomain}/backup              back up now
    POST /tenants/{subdomain}/plan                plan (one of the active plans)
    POST /tenants/{subdomain}/archive             back up, drop the database (the row stays)
    POST /tenants/{subdomain}/delete              confirm = the subdomain typed again
    POST /tenants/{subdomain}/restore             backup_id (one of this tenant's completed backups)
    POST /tenants/{subdomain}/clone               backup_id, as_subdomain, name: the backup as a new tenant
    POST /tenants/{subdomain}/move                server (another active server)
    POST /tenants/{subdomain}/modules             module, until (optional day): grant beyond the plan
    POST /tenants/{subdomain}/modules/{module}/revoke
    POST /tenants/{subdomain}/domains             domain: route a custom domain to the tenant
    POST /tenants/{subdomain}/domains/{action}    domain; action = check (does DNS point here?), primary, remove

A successful form redirects (303) back to the page with a fixed notice code, never user text; an error
the admin can cause re-renders the page with its message and 4xx status. The work is the admin JSON
API's own (the same services, the same audit events with the actor ``admin:<email>``).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from polyflow.kit.errors import Forbidden, InvalidInput, NotFound, PolyflowError
from polyflow.platform import backups, entitlements, lifecycle
from polyflow.platform.admin import domains as tenant_domains
from polyflow.platform.admin import identity
from polyflow.platform.admin import tenants as admin_tenants
from polyflow.platform.admin.pages.common import (
    MaybeAdmin, field, message, notice, page, parse_day, see_other, signed_form, to_login,
)
from polyflow.platform.models import PlatformEvent
from polyflow.platform.runtime import Platform

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

EVENTS_SHOWN = 20
BACKUPS_SHOWN = 20
MAX_REASON = 200
# What the page says after a successful form (the redirect names one of these; no free text is reflected).
NOTICES = {
    "suspended": "The tenant is suspended: its host refuses every request.",
    "resumed": "The tenant is active again.",
    "backed-up": "A backup was taken.",
    "plan": "The plan was changed.",
    "archived": "The tenant is archived: its database was backed up and dropped.",
    "restored": "The backup was restored over the tenant's database.",
    "cloned": "This tenant was made from another tenant's backup (an independent copy).",
    "moved": "The tenant's database was moved to the other server.",
    "granted": "The module was granted.",
    "revoked": "The module grant was removed.",
    "domain-added": "The domain was added: it is routed to this tenant once its DNS points here.",
    "domain-primary": "The primary domain was changed.",
    "domain-removed": "The domain is no longer routed to this tenant.",
    "domain-points-here": "DNS check: the domain reaches the same addresses as the tenant's subdomain.",
    "domain-not-here": "DNS check: the domain does not reach this platform yet (its CNAME or A record is missing).",
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
    entitlements: entitlements.Entitlements
    modules: tuple[str, ...]  # every module there is (for the grant form)
    servers: list[str]  # active servers other than the tenant's (move targets)
    domains: list[tuple[str, bool]]  # (custom domain, is primary), by name


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
        domains = sorted((d.domain, d.is_primary) for d in tenant.domains)
    taken = await backups.list_backups(platform, subdomain)
    plans = [p for p in await entitlements.list_plans(platform.main_engine) if p.is_active]
    granted = await entitlements.get_entitlements(platform, subdomain)
    servers = [s.name for s in await lifecycle.list_servers(platform) if s.is_active and s.name != detail.server]
    return TenantView(detail, db_name, events, list(reversed(taken))[:BACKUPS_SHOWN], len(taken), plans, granted,
                      entitlements.MODULES, servers, domains)


# --- helpers -------------------------------------------------------------------------------------------


def tenant_url(subdomain: str, done: str | None = None) -> str:
    url = f"/tenants/{quote(subdomain, safe='')}"
    return f"{url}?done={done}" if done else url


async def tenant_page(request: Request, admin: identity.SignedIn, subdomain: str, status_code: int = 200,
                      **context: Any) -> HTMLResponse:
    """The tenant page; the 404 page when there is no such tenant (any more)."""
    try:
        view = await tenant_view(request.app.state.platform, subdomain)
    except NotFound as exc:
        return message(request, admin, exc)
    return page(request, "admin/tenant.html", status_code, admin=admin, view=view, t=view.detail,
                root=request.app.state.platform.settings.root_domain, **context)


async def act(request: Request, admin: identity.SignedIn | None, subdomain: str, action) -> HTMLResponse:
    """Run one form's action: 303 to /login without a session; 403 page for a forged form; on success 303
    to what the action returns (a notice code for the tenant page, or a full path); an error the admin
    caused re-renders the tenant page with its message and status."""
    if admin is None:
        return to_login()
    try:
        form = await signed_form(request, admin)
    except Forbidden as exc:
        return message(request, admin, exc)
    platform = request.app.state.platform
    try:
        # An unknown (or malformed) name is the 404 page, whatever the form; checked before any service runs.
        async with AsyncSession(platform.main_engine) as session:
            await admin_tenants.get_tenant(session, subdomain)
        done = await action(platform, form, admin.actor)
    except PolyflowError as exc:
        if isinstance(exc, NotFound) and exc.message.startswith("no tenant"):
            return message(request, admin, exc)  # unknown, or gone meanwhile
        return await tenant_page(request, admin, subdomain, exc.status_code, error=exc.message,
                                 typed={k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"})
    # The action found the tenant, so the subdomain is a valid name; quoted all the same.
    return see_other(done if done.startswith("/") else tenant_url(subdomain, done))


def _day(form: FormData, name: str) -> date | None:
    return parse_day(field(form, name, 10), name)


# --- routes --------------------------------------------------------------------------------------------


@router.get("/tenants/{subdomain}")
async def tenant_get(request: Request, admin: MaybeAdmin, subdomain: str, done: str | None = None):
    """One tenant: its state, recent events, backups and modules, and the forms that change it."""
    if admin is None:
        return to_login()
    return await tenant_page(request, admin, subdomain, notice=notice(NOTICES, done))


@router.post("/tenants/{subdomain}/suspend")
async def suspend_form(request: Request, admin: MaybeAdmin, subdomain: str):
    """Suspend an active tenant (optional reason)."""

    async def suspend(platform: Platform, form: FormData, actor: str) -> str:
        reason = field(form, "reason", MAX_REASON) or None
        # The JSON API's own route: one definition of the rule, the default reason and the event.
        await admin_tenants.suspend_tenant(request, subdomain, actor, admin_tenants.StatusChange(reason=reason))
        return "suspended"

    return await act(request, admin, subdomain, suspend)


@router.post("/tenants/{subdomain}/resume")
async def resume_form(request: Request, admin: MaybeAdmin, subdomain: str):
    """Serve a suspended tenant again."""

    async def resume(platform: Platform, form: FormData, actor: str) -> str:
        await admin_tenants.resume_tenant(request, subdomain, actor)
        return "resumed"

    return await act(request, admin, subdomain, resume)


@router.post("/tenants/{subdomain}/backup")
async def backup_form(request: Request, admin: MaybeAdmin, subdomain: str):
    """Back up the tenant's database now."""

    async def back_up(platform: Platform, form: FormData, actor: str) -> str:
        await backups.backup(platform, subdomain, actor=actor)
        return "backed-up"

    return await act(request, admin, subdomain, back_up)


@router.post("/tenants/{subdomain}/plan")
async def plan_form(request: Request, admin: MaybeAdmin, subdomain: str):
    """Move the tenant to another (active) plan."""

    async def change_plan(platform: Platform, form: FormData, actor: str) -> str:
        code = field(form, "plan", 40)
        if not code:
            raise InvalidInput("choose a plan")
        await entitlements.set_plan(platform, subdomain, code, actor=actor)
        return "plan"

    return await act(request, admin, subdomain, change_plan)


@router.post("/tenants/{subdomain}/archive")
async def archive_form(request: Request, admin: MaybeAdmin, subdomain: str):
    """Back up the tenant, then drop its database and role (the tenant answers 403 from then on)."""

    async def archive(platform: Platform, form: FormData, actor: str) -> str:
        await lifecycle.archive(platform, subdomain, actor=actor)
        return "archived"

    return await act(request, admin, subdomain, archive)


@router.post("/tenants/{subdomain}/delete")
async def delete_form(request: Request, admin: MaybeAdmin, subdomain: str):
    """Delete the tenant (backed up first); the subdomain must be typed again to confirm."""

    async def delete(platform: Platform, form: FormData, actor: str) -> str:
        typed = field(form, "confirm", 100)
        if typed != subdomain:
            # The service refuses too; this says it in the console's words, before anything is touched.
            raise InvalidInput(f"type the subdomain {subdomain} exactly to confirm the deletion")
        await lifecycle.delete(platform, subdomain, confirm=typed, actor=actor)
        return "/tenants?done=deleted"

    return await act(request, admin, subdomain, delete)


@router.post("/tenants/{subdomain}/restore")
async def restore_form(request: Request, admin: MaybeAdmin, subdomain: str):
    """Restore one of the tenant's completed backups over its database (the live one is backed up first)."""

    async def restore(platform: Platform, form: FormData, actor: str) -> str:
        backup = await _own_backup(platform, subdomain, form)
        await backups.restore(platform, subdomain, backup.path, actor=actor)
        return "restored"

    return await act(request, admin, subdomain, restore)


async def _own_backup(platform: Platform, subdomain: str, form: FormData):
    """The completed backup of this tenant the form names (422 otherwise: another tenant's is not this page's)."""
    try:
        backup_id = uuid.UUID(field(form, "backup_id", 40))
    except ValueError:
        raise InvalidInput("choose a backup") from None
    found = await backups.find_backup(platform, backup_id)
    if found is None or found[1] != subdomain:
        raise InvalidInput(f"no backup {backup_id} of '{subdomain}'")
    backup, _ = found
    if backup.status != "completed":
        raise InvalidInput(f"backup {backup_id} is {backup.status}, not a completed backup")
    return backup


@router.post("/tenants/{subdomain}/clone")
async def clone_form(request: Request, admin: MaybeAdmin, subdomain: str):
    """Make a new, independent tenant from one of this tenant's backups (e.g. to look at old data)."""

    async def clone(platform: Platform, form: FormData, actor: str) -> str:
        backup = await _own_backup(platform, subdomain, form)
        new_sub = field(form, "as_subdomain", 63)
        if not new_sub:
            raise InvalidInput("type the new tenant's subdomain")
        result = await backups.restore(platform, subdomain, backup.path, as_subdomain=new_sub,
                                       name=field(form, "name", 200) or None, actor=actor)
        return tenant_url(result.subdomain, "cloned")

    return await act(request, admin, subdomain, clone)


@router.post("/tenants/{subdomain}/move")
async def move_form(request: Request, admin: MaybeAdmin, subdomain: str):
    """Move the tenant's database to another database server."""

    async def move(platform: Platform, form: FormData, actor: str) -> str:
        target = field(form, "server", 63)
        if not target:
            raise InvalidInput("choose the server to move to")
        try:
            await lifecycle.move(platform, subdomain, to=target, actor=actor)
        except NotFound as exc:  # an unknown server is a mistake in the form, not a missing page
            raise InvalidInput(exc.message) from None
        return "moved"

    return await act(request, admin, subdomain, move)


@router.post("/tenants/{subdomain}/modules")
async def grant_form(request: Request, admin: MaybeAdmin, subdomain: str):
    """Grant a module beyond the plan, optionally until the end of a day (UTC)."""

    async def grant(platform: Platform, form: FormData, actor: str) -> str:
        module = field(form, "module", 40)
        if not module:
            raise InvalidInput("choose a module")
        until = _day(form, "until")
        await entitlements.grant_module(platform, subdomain, module,
                                        until=entitlements.end_of_day(until) if until else None, actor=actor)
        return "granted"

    return await act(request, admin, subdomain, grant)


@router.post("/tenants/{subdomain}/modules/{module}/revoke")
async def revoke_form(request: Request, admin: MaybeAdmin, subdomain: str, module: str):
    """Remove a module grant (modules of the plan change with the plan)."""

    async def revoke(platform: Platform, form: FormData, actor: str) -> str:
        try:
            await entitlements.revoke_module(platform, subdomain, module, actor=actor)
        except NotFound as exc:  # nothing to revoke: the form's mistake, the page stays
            raise InvalidInput(exc.message) from None
        return "revoked"

    return await act(request, admin, subdomain, revoke)


@router.post("/tenants/{subdomain}/domains")
async def add_domain_form(request: Request, admin: MaybeAdmin, subdomain: str):
    """Route a custom domain (e.g. erp.customer.co.id) to the tenant."""

    async def add(platform: Platform, form: FormData, actor: str) -> str:
        await tenant_domains.add_domain(platform, subdomain, field(form, "domain", 260), actor=actor)
        return "domain-added"

    return await act(request, admin, subdomain, add)


@router.post("/tenants/{subdomain}/domains/{action}")
async def domain_form(request: Request, admin: MaybeAdmin, subdomain: str, action: str):
    """Check a custom domain's DNS, make it the primary domain, or stop routing it."""

    async def change(platform: Platform, form: FormData, actor: str) -> str:
        domain = field(form, "domain", 260)
        if action == "check":
            found = await tenant_domains.check(platform, subdomain, domain)
            return "domain-points-here" if found.points_here else "domain-not-here"
        if action == "primary":
            await tenant_domains.make_primary(platform, subdomain, domain, actor=actor)
            return "domain-primary"
        if action == "remove":
            await tenant_domains.remove_domain(platform, subdomain, domain, actor=actor)
            return "domain-removed"
        raise NotFound("no such domain action")

    if action not in ("check", "primary", "remove"):
        return message(request, admin, NotFound("no such domain action")) if admin else to_login()
    return await act(request, admin, subdomain, change)
