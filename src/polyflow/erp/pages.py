"""The tenant's server-rendered pages: what every page shares (who is signed in, the permission check, form
parsing, CSRF, error pages) and the dashboard at ``/``. Each module's pages live in ``erp/<module>/pages.py``.

Every page goes through `html_page`, so a user-caused error (`PolyflowError`) is an HTML page with its 4xx
status (the work of the failed action rolled back) and "not signed in" is a 303 to ``/login?next=<path>``.
Pages call the same services and the same permission checks as the JSON API; they run no queries of their own.
"""

from __future__ import annotations

import functools
import time
import uuid
from dataclasses import dataclass
from typing import Any, Awaitable, Callable
from urllib.parse import quote, urlsplit

from fastapi import Request
from pydantic import ValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from polyflow.erp.identity.auth import Principal, check_permission, optional_principal
from polyflow.erp.identity.permissions import module_of
from polyflow.erp.models.settings import TenantSettings
from polyflow.kit.errors import InvalidInput, NotAuthenticated, PolyflowError
from polyflow.platform.tenancy.deps import TenantSession
from polyflow.platform.tenancy.route import TenantRoute
from polyflow.web import render
from polyflow.web.csrf import check_form_token
from polyflow.web.fmt import use_zone
from polyflow.web.i18n import DEFAULT_LANGUAGE, _, current_lang, use_lang

# The site's navigation, grouped as the menu shows it: a link is shown only to users who may open it (role and
# plan). A permission may be a tuple: any one of them opens the page. Labels are English msgids, translated when
# shown. Every page of the URL plan has its place here.
NAV: tuple[tuple[str, tuple[tuple[str, str, str | tuple[str, ...]], ...]], ...] = (
    ("Sales", (
        ("Sales orders", "/sales-orders", "sales.read"),
        ("Deliveries", "/deliveries", "sales.read"),
        ("Invoices", "/invoices", "sales.read"),
        ("Customer receipts", "/receipts", ("sales.read", "accounting.read")),
        ("Partners", "/partners", ("sales.read", "purchasing.read")),
    )),
    ("Purchasing", (
        ("Purchase requests", "/purchase-requests", "purchasing.read"),
        ("Purchase orders", "/purchase-orders", "purchasing.read"),
        ("Goods receipts", "/purchase-receipts", "purchasing.read"),
        ("Supplier invoices", "/purchase-invoices", "purchasing.read"),
        ("Purchase returns", "/purchase-returns", "purchasing.read"),
        ("Supplier payments", "/supplier-payments", ("purchasing.read", "accounting.read")),
    )),
    ("Inventory", (
        ("Products", "/products", "catalog.read"),
        ("Stock", "/stock", "inventory.read"),
        ("Stock movements", "/stock/moves", "inventory.read"),
        ("Valuation", "/stock/valuation", "inventory.read"),
        ("Low stock", "/stock/low", "inventory.read"),
        ("Stock counts", "/stock-counts", "inventory.read"),
        ("Locations", "/locations", "inventory.read"),
    )),
    ("Production", (
        ("Shop floor", "/production/floor", "production.read"),
        ("Production orders", "/production/orders", "production.read"),
        ("Lots and traceability", "/production/lots", "production.read"),
        ("Production runs", "/production/runs", "production.read"),
        ("Planning (MRP)", "/planning", "production.read"),
        ("Toll manufacturing", "/toll-orders", "production.read"),
        ("Machines", "/production/machines", "production.read"),
        ("Bills of materials", "/production/boms", "production.read"),
        ("Production KPIs", "/production/kpi", "production.read"),
    )),
    ("Accounting", (
        ("Journal", "/journal", "accounting.read"),
        ("Chart of accounts", "/accounts", "accounting.read"),
        ("Trial balance", "/reports/trial-balance", "accounting.read"),
        ("General ledger", "/reports/general-ledger", "accounting.read"),
        ("Profit and loss", "/reports/profit-loss", "accounting.read"),
        ("Balance sheet", "/reports/balance-sheet", "accounting.read"),
        ("Receivables aging", "/reports/ar-aging", "sales.read"),
        ("Payables aging", "/reports/ap-aging", "purchasing.read"),
        ("PPN summary", "/reports/ppn", "accounting.read"),
        ("Periods and lock date", "/periods", "accounting.read"),
    )),
    ("Settings", (
        ("Company", "/settings", "accounting.read"),
        ("Tax codes", "/settings/tax-codes", "accounting.read"),
        ("Users", "/users", "users.manage"),
        ("Audit log", "/audit", "audit.read"),
    )),
)
PAGE_SIZE = 50


@dataclass(frozen=True)
class Viewer:
    """What pages show of the signed-in user, copied out of the ORM rows up front: a failed action rolls
    the session back, which expires those rows, and the error page is rendered after that."""

    id: uuid.UUID
    email: str
    name: str
    roles: tuple[str, ...]
    permissions: frozenset[str]
    csrf_token: str | None  # None when signed in with an API token (it cannot post forms)
    tenant: str
    modules: tuple[str, ...]  # the plan's modules usable now
    lang: str = DEFAULT_LANGUAGE
    company: str = ""  # the company's name from its settings ('' before it is set: the tenant's name is shown)

    @classmethod
    def of(cls, principal: Principal, route: TenantRoute, workspace: "Workspace | None" = None) -> "Viewer":
        return cls(principal.user.id, principal.user.email, principal.user.name, tuple(sorted(principal.roles)),
                   principal.permissions, principal.csrf_token, route.name, route.modules(time.time()),
                   current_lang(), workspace.company if workspace else "")

    def may(self, permission: str | tuple[str, ...]) -> bool:
        """The role grants it (any one of a tuple) and its module is in the plan (what `check_permission` enforces)."""
        if isinstance(permission, tuple):
            return any(self.may(p) for p in permission)
        module = module_of(permission)
        return permission in self.permissions and (module is None or module in self.modules)

    @property
    def brand(self) -> str:
        return self.company or self.tenant

    @property
    def nav(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """The menu: (group, [(label, href)]) with only the pages this user may open, labels translated."""
        out = []
        for group, items in NAV:
            links = [(_(label), href) for label, href, permission in items if self.may(permission)]
            if links:
                out.append((_(group), links))
        return out


@dataclass(frozen=True)
class Workspace:
    """The tenant's own facts the pages need on every request (one small read of tenant_settings)."""

    company: str
    language: str
    time_zone: str


async def workspace(session: AsyncSession) -> Workspace:
    """The company's name, default language and time zone; also makes them this request's zone."""
    row = (await session.execute(
        select(TenantSettings.company_name, TenantSettings.language, TenantSettings.time_zone)
        .where(TenantSettings.id == 1))).first()
    ws = Workspace(row.company_name or "", row.language or DEFAULT_LANGUAGE, row.time_zone) if row \
        else Workspace("", DEFAULT_LANGUAGE, "Asia/Jakarta")
    use_zone(ws.time_zone)
    return ws


async def visitor_language(request: Request, session: AsyncSession) -> Workspace:
    """Before sign-in: the workspace's language (a ?lang=id|en on the page wins) and zone."""
    ws = await workspace(session)
    use_lang(request.query_params.get("lang") or ws.language)
    return ws


class SignInFirst(Exception):
    """Not signed in: the page answers 303 to the sign-in form, which comes back to `next`."""

    def __init__(self, next_path: str | None):
        super().__init__(next_path)
        self.next_path = next_path


def tenant_of(request: Request) -> TenantRoute:
    return request.scope["state"]["tenant"]


async def signed_in(request: Request, session: AsyncSession, permission: str | None = None) -> Principal:
    """The signed-in user (session cookie or API token), checked for `permission` like the API does."""
    principal = await optional_principal(request, session)  # a cross-site POST is refused in there (403)
    if principal is None:
        raise SignInFirst(current_path(request) if request.method in ("GET", "HEAD") else None)
    ws = await workspace(session)
    use_lang(principal.user.language or ws.language)
    request.state.viewer = Viewer.of(principal, tenant_of(request), ws)
    if permission is not None:
        check_permission(request, principal, permission)
    return principal


def current_path(request: Request) -> str:
    """This request's path and query, as sent (the path re-quoted: Starlette hands it over decoded)."""
    query = request.url.query
    return quote(request.url.path) + (f"?{query}" if query else "")


def local_path(value: str | None) -> str | None:
    """`value` if it is a path on this site, else None: `next=` must never send anyone elsewhere."""
    if not value or len(value) > 1000 or not value.startswith("/") or value.startswith("//"):
        return None
    if "\\" in value or any(ord(c) < 33 or ord(c) == 127 for c in value):
        return None  # browsers read "\" as "/", and strip tabs and newlines: "/\evil" is "//evil"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    return value


def login_url(next_path: str | None) -> str:
    next_path = local_path(next_path)
    return "/login" if next_path in (None, "/") else f"/login?next={quote(next_path, safe='/')}"


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# -- forms -----------------------------------------------------------------------------------------------
async def signed_form(request: Request, principal: Principal) -> FormData:
    """The posted form, after checking its csrf_token against the signed-in session's (403 otherwise)."""
    form = await request.form()
    check_form_token(principal.csrf_token, text(form, "csrf_token", 200))
    return form


def text(form: FormData, name: str, max_length: int = 200, *, strip: bool = True) -> str:
    """A text field ('' when absent); longer than `max_length` is a 422 naming the field."""
    value = form.get(name)
    if not isinstance(value, str):
        return ""
    if len(value) > max_length:
        raise InvalidInput(f"{name.replace('_', ' ')} is too long (at most {max_length} characters)")
    return value.strip() if strip else value


def validation_message(exc: Exception) -> str:
    """A pydantic ValidationError as one line a person can act on."""
    parts = []
    for error in getattr(exc, "errors", lambda: [])():
        field = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "form"
        parts.append(f"{field.replace('_', ' ')}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or str(exc)


# -- rendering -------------------------------------------------------------------------------------------
def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a tenant page (with the signed-in user's header when there is one); never cached."""
    context.setdefault("viewer", getattr(request.state, "viewer", None))
    response = render(request, template, status_code, **context)
    response.headers["Cache-Control"] = "no-store"
    return response


def error_page(request: Request, exc: PolyflowError) -> HTMLResponse:
    response = page(request, "tenant/message.html", exc.status_code, message=exc.message,
                    title=_("Not allowed") if exc.status_code == 403 else _("Something is not right"))
    for key, value in (exc.headers or {}).items():
        if key.lower() != "www-authenticate":
            response.headers[key] = value
    return response


def html_page(handler: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """Wrap a page handler (it must take `request` and `session`): not signed in -> 303 to the sign-in form;
    any other `PolyflowError` -> the work of the request rolled back and an error page with its status."""

    @functools.wraps(handler)
    async def run(**kwargs: Any) -> Any:
        request: Request = kwargs["request"]
        session: AsyncSession = kwargs["session"]
        try:
            return await handler(**kwargs)
        except SignInFirst as exc:
            return see_other(login_url(exc.next_path))
        except NotAuthenticated:
            return see_other(login_url(current_path(request) if request.method == "GET" else None))
        except PolyflowError as exc:
            await session.rollback()
            return error_page(request, exc)
        except ValidationError as exc:
            # A service schema refused what a form let through (a page built it without checking every rule):
            # still the person's input, so a 422 page naming the field, never a 500.
            await session.rollback()
            return error_page(request, InvalidInput(validation_message(exc)))

    return run
