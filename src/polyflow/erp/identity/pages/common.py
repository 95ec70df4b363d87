"""What the identity pages share: the router, the notices a redirect may name, the pre-sign-in form helpers
(double-submit CSRF cookie) and small parsers."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from polyflow.erp.pages import page, text
from polyflow.kit.errors import NotFound
from polyflow.web.csrf import check_pre_auth, check_same_origin, pre_auth_token

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

Offset = Annotated[int, Query(ge=0, le=10_000_000)]
LinkToken = Annotated[str, Query(max_length=200)]
LANGUAGES = {"id": "Bahasa Indonesia", "en": "English"}
# What a page says after a successful post (the redirect names one of these; no free text is reflected).
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
}
Done = Annotated[str | None, Query(max_length=20)]


def notice(done: str | None) -> str | None:
    return NOTICES.get(done or "")


# -- forms shown before sign-in ----------------------------------------------------------------------------
def pre_auth_page(request: Request, template: str, status_code: int = 200, *,
                  headers: dict[str, str] | None = None, **context) -> HTMLResponse:
    """A form for visitors: its csrf_token repeats the pf_csrf cookie set here (double submit)."""
    carrier = Response()  # pre_auth_token sets its cookie on a response; the page is rendered after
    context["csrf_token"] = pre_auth_token(request, carrier)
    response = page(request, template, status_code, **context)
    for value in carrier.headers.getlist("set-cookie"):
        response.headers.append("set-cookie", value)
    for key, value in (headers or {}).items():
        if key.lower() != "www-authenticate":
            response.headers[key] = value
    return response


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


