"""What the identity pages share: the router, the notices a redirect may name, the pre-sign-in form helpers
(double-submit CSRF cookie) and small parsers."""

from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.identity.auth import optional_principal
from polyflow.erp.pages import page, tenant_of, text, visitor_language
from polyflow.kit.errors import NotFound
from polyflow.web import templates
from polyflow.web.csrf import check_pre_auth, check_same_origin, pre_auth_token
from polyflow.web.i18n import LANGUAGES, _, current_lang, use_lang

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

Offset = Annotated[int, Query(ge=0, le=10_000_000)]
LinkToken = Annotated[str, Query(max_length=200)]
# What a page says after a successful post (the redirect names one of these; no free text is reflected).
# English msgids, translated when shown.
NOTICES = {
    "out": "You are signed out.",
    "out-all": "You are signed out on every browser.",
    "reset": "Your password was changed. Sign in with the new one.",
    "welcome": "Your account is ready. Sign in with your new password.",
    "sent": "If the address belongs to a user of this workspace, a reset link is on its way. It works once.",
    "password": "Your password was changed. Your other browsers were signed out.",
    "revoked": "The API token was revoked.",
    "invited": "The invitation was sent.",
    "activated": "The user was activated.",
    "deactivated": "The user was deactivated: their sessions ended and their API tokens were revoked.",
    "confirmed": "Thank you: for the next few minutes you can create tokens, invite users and change 2FA.",
    "mfa-off": "Two-factor sign-in is off.",
    "policy": "The workspace's sign-in rules were saved.",
    "language": "Your language was saved.",
}
Done = Annotated[str | None, Query(max_length=20)]
# The roles as people read them (the codes stay what the API and the audit log carry).
ROLE_LABELS = {"owner": "Owner", "admin": "Administrator", "finance": "Finance", "sales": "Sales",
               "purchasing": "Purchasing", "warehouse": "Warehouse", "production": "Production", "viewer": "Viewer"}


def role_names(roles) -> str:
    """The roles in the reader's language, comma separated."""
    return ", ".join(_(ROLE_LABELS[r]) if r in ROLE_LABELS else r for r in roles or ())


templates.env.globals["role_names"] = role_names


def notice(done: str | None) -> str | None:
    english = NOTICES.get(done or "")
    return _(english) if english else None


async def visitor(request: Request, session: AsyncSession) -> None:
    """Before sign-in: the page's language (the visitor's ?lang=id|en, else the workspace's) and the company
    the form signs in to (its name from the settings, else the tenant's name), kept for `pre_auth_page`."""
    ws = await visitor_language(request, session)
    request.state.company = ws.company or tenant_of(request).name
    if request.method == "GET" and request.query_params.get("lang") not in LANGUAGES:
        # Someone signed in who opens a reset or invitation link reads it in their own language.
        principal = await optional_principal(request, session)
        if principal is not None and principal.user.language:
            use_lang(principal.user.language)


# -- forms shown before sign-in ----------------------------------------------------------------------------
def pre_auth_page(request: Request, template: str, status_code: int = 200, *,
                  headers: dict[str, str] | None = None, **context) -> HTMLResponse:
    """A form for visitors: its csrf_token repeats the pf_csrf cookie set here (double submit)."""
    carrier = Response()  # pre_auth_token sets its cookie on a response; the page is rendered after
    context["csrf_token"] = pre_auth_token(request, carrier)
    context.setdefault("company", getattr(request.state, "company", None) or tenant_of(request).name)
    # The visitor's explicit choice rides along on the forms' actions and links (a POST has no ?lang of its own).
    chosen = request.query_params.get("lang")
    context["lang_query"] = f"?lang={current_lang()}" if chosen in LANGUAGES else ""
    kept = {k: v for k, v in request.query_params.items() if k in ("next", "token", "done")}
    context["lang_links"] = {code: urlencode({**kept, "lang": code}) for code in LANGUAGES}
    response = page(request, template, status_code, **context)
    for value in carrier.headers.getlist("set-cookie"):
        response.headers.append("set-cookie", value)
    for key, value in (headers or {}).items():
        if key.lower() != "www-authenticate":
            response.headers[key] = value
    return response


def keep_lang(request: Request, url: str) -> str:
    """`url` with the visitor's explicit ?lang= of this request, so the next page speaks the same language."""
    chosen = request.query_params.get("lang")
    if chosen not in LANGUAGES:
        return url
    return url + ("&" if "?" in url else "?") + f"lang={chosen}"


async def visitor_form(request: Request):
    """The posted pre-sign-in form, after the same-origin and double-submit checks (403 otherwise)."""
    check_same_origin(request)
    form = await request.form()
    check_pre_auth(request, text(form, "csrf_token", 200))
    return form


def id_from_path(value: str, missing: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(missing) from None


