"""CSRF protection for forms and cookie-authenticated API calls.

- Signed-in forms: the hidden ``csrf_token`` field must equal the token stored with the server-side
  session (a random value per session, compared in constant time).
- Forms shown before sign-in (login, reset, invite): double-submit, a random value in a host-only
  ``SameSite=Strict`` cookie that the hidden field must repeat.
- JSON calls authenticated by a cookie: an ``Origin`` (or ``Referer``) from another site is refused,
  and form-encodable bodies are refused (``forms=False``), so a cross-site page cannot forge them. Bearer-token calls
  carry no ambient credential and need none of this.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from fastapi import Request, Response

from polyflow.kit.errors import Forbidden
from polyflow.kit.web import same_secret
from polyflow.web import cookie_name, read_cookie, secure_cookies

PRE_AUTH_COOKIE = "pf_csrf"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "text/plain")


def check_form_token(expected: str | None, submitted: str | None) -> None:
    if not expected or not submitted or not same_secret(expected, submitted):
        raise Forbidden("the form has expired or did not come from this site; reload the page and try again")


def pre_auth_token(request: Request, response: Response | None = None) -> str:
    """The double-submit token for a pre-sign-in form (set as a cookie on `response` if new)."""
    token = read_cookie(request, PRE_AUTH_COOKIE)
    if not token or len(token) < 32:
        token = secrets.token_urlsafe(32)
    if response is not None:
        response.set_cookie(cookie_name(request, PRE_AUTH_COOKIE), token, httponly=True, samesite="strict",
                            path="/", secure=secure_cookies(request))
    return token


def check_pre_auth(request: Request, submitted: str | None) -> None:
    check_form_token(read_cookie(request, PRE_AUTH_COOKIE), submitted)


def request_host(request: Request) -> str:
    """The host the client addressed: the one the tenancy middleware resolved (X-Forwarded-Host from a
    trusted proxy), else the Host header."""
    return request.scope.get("state", {}).get("host") or request.headers.get("host") or ""


def check_same_origin(request: Request, *, forms: bool = True) -> None:
    """Refuse a state-changing, cookie-authenticated request that a foreign page could have sent.

    ``forms=False`` for JSON APIs: a form-encodable body (which a foreign page can post without a
    CORS preflight) is refused as well, even with no Origin header at all.
    """
    if request.method not in UNSAFE_METHODS:
        return
    source = request.headers.get("origin") or request.headers.get("referer")
    if source and source != "null":
        parts = urlsplit(source)
        if (parts.netloc or "").lower() != request_host(request).lower():
            raise Forbidden("cross-site request refused")
    elif source == "null":
        raise Forbidden("cross-site request refused")
    if not forms:
        ctype = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
        if ctype in FORM_TYPES:
            raise Forbidden("send JSON (Content-Type: application/json) to the API")
