"""Creating a tenant from the console and watching it come up.

    GET  /tenants/new                      the form: name, subdomain, owner's email, plan, server
    POST /tenants/new                      reserve + queue the onboarding job (the admin API's own services and
                                           events) -> 303 to the progress page; a mistake is the form again (422,
                                           409 for a taken subdomain) with the message next to its field
    GET  /tenants/{subdomain}/onboarding   the steps done so far; refreshes itself every second (a ``Refresh``
                                           header and a ``<meta http-equiv="refresh">``: no script, CSP-clean)
                                           until the tenant is active (then the link to its subdomain) or stuck
    POST /tenants/{subdomain}/onboarding   queue an unfinished onboarding again (after its retries ran out)
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.kit.errors import Conflict, Forbidden, NotFound, PolyflowError
from polyflow.platform import entitlements, jobs, lifecycle, onboarding
from polyflow.platform.admin import identity
from polyflow.platform.admin import tenants as admin_tenants
from polyflow.platform.admin.pages.common import MaybeAdmin, field, message, page, see_other, signed_form, to_login
from polyflow.platform.admin.pages.tenant import tenant_url
from polyflow.platform.models import ONBOARDING_STEPS
from polyflow.web import secure_cookies

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

FIELDS = ("name", "subdomain", "admin_email", "plan", "server")
STEP_LABELS = {
    "reserved": "Name reserved", "role": "Database role created", "database": "Database created",
    "migrated": "Schema migrated", "seeded": "Chart of accounts and owner seeded", "verified": "Checked",
    "active": "Active: serving requests",
}
# Job states after which nothing will happen without an operator.
STOPPED = ("failed", "cancelled", "aborted")


def field_of(message_text: str) -> str:
    """Which form field a service's message is about (onboarding.validate / reserve / pick_server)."""
    text = message_text.lower()
    for needle, name in (("subdomain", "subdomain"), ("tenant name", "name"), ("the name ", "name"),
                         ("email", "admin_email"), ("plan", "plan"), ("server", "server")):
        if needle in text:
            return name
    return ""


async def _choices(platform) -> tuple[list[entitlements.PlanInfo], list[str]]:
    plans = [p for p in await entitlements.list_plans(platform.main_engine) if p.is_active]
    servers = [s.name for s in await lifecycle.list_servers(platform) if s.is_active]
    return plans, servers


async def _form_page(request: Request, admin: identity.SignedIn, status_code: int = 200, *,
                     typed: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                     error: str | None = None) -> HTMLResponse:
    plans, servers = await _choices(request.app.state.platform)
    return page(request, "admin/tenant_new.html", status_code, admin=admin, plans=plans, servers=servers,
                typed=typed or {"plan": "trial"}, errors=errors or {}, error=error)


def tenant_link(request: Request, subdomain: str) -> str:
    """Where the tenant answers, as seen from this browser (scheme and port of the admin host)."""
    settings = request.app.state.platform.settings
    scheme = "https" if secure_cookies(request) else "http"
    port = request.url.port
    default = 443 if scheme == "https" else 80
    suffix = f":{port}" if port and port != default else ""
    return f"{scheme}://{subdomain}.{settings.root_domain}{suffix}/"


@router.get("/tenants/new")
async def new_tenant_form(request: Request, admin: MaybeAdmin):
    """The form that creates a tenant."""
    if admin is None:
        return to_login()
    return await _form_page(request, admin)


@router.post("/tenants/new")
async def create_tenant(request: Request, admin: MaybeAdmin):
    """Reserve the tenant and queue its onboarding; then watch it on its progress page."""
    if admin is None:
        return to_login()
    try:
        form = await signed_form(request, admin)
    except Forbidden as exc:
        return message(request, admin, exc)
    typed = {name: (form.get(name) if isinstance(form.get(name), str) else "")[:300] for name in FIELDS}
    platform = request.app.state.platform
    try:
        values = {name: field(form, name, 254 if name == "admin_email" else 200) for name in FIELDS}
        tenant = await onboarding.reserve(
            platform, name=values["name"], subdomain=values["subdomain"], admin_email=values["admin_email"],
            plan=values["plan"] or "trial", server_name=values["server"] or None, actor=admin.actor)
        await admin_tenants.queue_onboarding(platform, tenant, admin.actor)
    except PolyflowError as exc:
        status = 422 if isinstance(exc, NotFound) else exc.status_code  # an unknown server: the form's mistake
        where = field_of(exc.message)
        if where:
            return await _form_page(request, admin, status, typed=typed, errors={where: exc.message})
        return await _form_page(request, admin, status, typed=typed, error=exc.message)
    return see_other(tenant_url(tenant.subdomain) + "/onboarding")


@router.get("/tenants/{subdomain}/onboarding")
async def onboarding_progress(request: Request, admin: MaybeAdmin, subdomain: str):
    """A tenant's onboarding steps, refreshed every second while they are under way."""
    if admin is None:
        return to_login()
    try:
        async with AsyncSession(request.app.state.platform.main_engine) as session:
            t = await admin_tenants.tenant_detail(session, subdomain)
    except NotFound as exc:
        return message(request, admin, exc)
    done = ONBOARDING_STEPS.index(t.onboarding.step) if t.onboarding.step in ONBOARDING_STEPS else -1
    steps = [(STEP_LABELS[s], "done" if i <= done else "current" if i == done + 1 else "todo")
             for i, s in enumerate(ONBOARDING_STEPS)]
    job = t.onboarding.job
    stuck = t.status in jobs.UNFINISHED and (job is None or job.status in STOPPED or t.status == "failed")
    under_way = t.status == "provisioning" and not stuck
    response = page(request, "admin/onboarding.html", admin=admin, t=t, steps=steps, under_way=under_way,
                    stuck=stuck, link=tenant_link(request, t.subdomain) if t.status == "active" else None)
    if under_way:
        response.headers["Refresh"] = "1"
    return response


@router.post("/tenants/{subdomain}/onboarding")
async def retry_onboarding(request: Request, admin: MaybeAdmin, subdomain: str):
    """Queue an unfinished (provisioning or failed) onboarding again."""
    if admin is None:
        return to_login()
    try:
        await signed_form(request, admin)
        platform = request.app.state.platform
        async with AsyncSession(platform.main_engine) as session:
            tenant = await admin_tenants.get_tenant(session, subdomain)
        if tenant.status not in jobs.UNFINISHED:
            raise Conflict(f"tenant '{subdomain}' is {tenant.status}, not being onboarded")
        await admin_tenants.queue_onboarding(platform, tenant, admin.actor)
    except PolyflowError as exc:
        return message(request, admin, exc)
    return see_other(tenant_url(subdomain) + "/onboarding")
