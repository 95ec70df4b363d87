"""Admin host authentication: a super-admin's session cookie, or the operators' automation token.

- ``Authorization: Bearer <token>``: the operator token from settings (or, while it is rotated, one of
  ``old_operator_tokens``), compared in constant time. The actor is ``operator-token`` (or
  ``operator-token(old)``). A bearer header is decisive: a wrong one is 401 even with a cookie.
- Cookie ``pf_admin`` (``__Host-pf_admin`` in production): a super-admin session
  (platform/admin/identity.py) that has passed every sign-in step (two-factor included; a session
  short of that opens only the next step, 403 elsewhere); the actor is ``admin:<email>``, so every
  admin action is attributed to the person in ``platform_events``.
  Unsafe methods must come from this site (``check_same_origin``): the cookie is sent by the browser
  on its own, a bearer token is not.

Only the main database is consulted: a tenant's session or API token means nothing here (401).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Response

from polyflow import web
from polyflow.kit.errors import Forbidden, NotAuthenticated, PolyflowError, TooManyRequests
from polyflow.kit.web import same_secret
from polyflow.platform.admin import identity
from polyflow.platform.admin.mfa import next_step_message
from polyflow.web.csrf import check_same_origin

ADMIN_COOKIE = "pf_admin"
# Tokens other apps issue: a tenant's browser session and API tokens, and an admin session (which
# only ever travels in the cookie).
FOREIGN_TOKEN_PREFIXES = ("pfs_", "pft_", "pfa_")


class Unauthorized(NotAuthenticated):
    """401 on the admin host (its challenge names no tenant realm)."""

    def __init__(self, message: str):
        PolyflowError.__init__(self, message, headers={"WWW-Authenticate": "Bearer"})


@dataclass(frozen=True)
class Principal:
    """Who is calling: ``actor`` for the audit log; ``session`` when signed in with the cookie."""

    actor: str
    session: identity.SignedIn | None = None


def _operator_tokens(settings) -> list[tuple[str, str]]:
    tokens = []
    if settings.operator_token is not None and settings.operator_token.get_secret_value().strip():
        tokens.append((settings.operator_token.get_secret_value().strip(), "operator-token"))
    if settings.old_operator_tokens is not None:
        for old in settings.old_operator_tokens.get_secret_value().split(","):
            if old.strip():
                tokens.append((old.strip(), "operator-token(old)"))
    return tokens


def operator_actor(settings, token: str) -> str | None:
    """The actor an operator token stands for, or None. Every configured token is compared (in
    constant time), so the timing does not tell which one matched or how many there are."""
    actor = None
    for expected, name in _operator_tokens(settings):
        if same_secret(token, expected) and actor is None:
            actor = name
    return actor


def _operator_failures_key(ip: str) -> str:
    return f"admin-operator:fail:{ip}"


async def _check_operator_token(request: Request, token: str) -> str:
    """The actor of a valid operator token; 401 for a wrong one, 429 once this client address has
    failed too often within a minute (guessing the token is throttled like guessing a password)."""
    platform = request.app.state.platform
    limit = platform.settings.operator_token_failures_per_minute
    key = _operator_failures_key(web.request_ip(request))
    seen = await platform.limiter.peek(key)
    if seen.count >= limit:
        raise TooManyRequests("too many wrong operator tokens from your address; wait a minute",
                              retry_after=seen.retry_after)
    actor = operator_actor(platform.settings, token)
    if actor is None:
        failed = await platform.limiter.hit(key, 60)
        if failed.count > limit:  # parallel guesses that all passed the peek
            raise TooManyRequests("too many wrong operator tokens from your address; wait a minute",
                                  retry_after=failed.retry_after)
        raise Unauthorized("invalid operator token")
    return actor


async def authenticate(request: Request) -> Principal:
    """The caller (operator token or admin session), or 401; 403 for a cross-site cookie request."""
    platform = request.app.state.platform
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        token = token.strip()
        if not token:
            raise Unauthorized("missing bearer token")
        if token.startswith(FOREIGN_TOKEN_PREFIXES):
            raise Unauthorized("this token is not valid on the admin host")
        return Principal(await _check_operator_token(request, token))

    signed_in = await _cookie_session(request)
    if not signed_in.full:
        raise Forbidden(next_step_message(signed_in.stage))
    return Principal(signed_in.actor, signed_in)


async def sign_in_session(request: Request) -> identity.SignedIn:
    """The admin session of this JSON request at whatever sign-in stage, or 401 (403 cross-site).
    A bearer header is decisive here too: a valid operator token is a 400 (it has no session)."""
    if request.headers.get("authorization", "").partition(" ")[0].lower() == "bearer":
        await authenticate(request)  # 401/429 for a wrong token
        raise PolyflowError("the operator token has no session; this needs a signed-in admin")
    return await _cookie_session(request)


async def _cookie_session(request: Request) -> identity.SignedIn:
    cookie = web.read_cookie(request, ADMIN_COOKIE)
    if not cookie:
        raise Unauthorized("missing bearer token")
    # Before any lookup (a forged request costs no query). Everything behind this dependency is JSON:
    # the /login and /logout forms and the console pages do not use it.
    check_same_origin(request, forms=False)
    signed_in = await identity.authenticate_session(request.app.state.platform, cookie)
    if signed_in is None:
        raise Unauthorized("your admin session has ended; sign in again")
    request.state.admin = signed_in
    return signed_in


async def require_operator(principal: Annotated[Principal, Depends(authenticate)]) -> str:
    """The caller's identity for the audit log ("admin:<email>", "operator-token"), or 401/403."""
    return principal.actor


async def require_admin_session(principal: Annotated[Principal, Depends(authenticate)]) -> identity.SignedIn:
    """A signed-in super-admin (cookie); the operator token has no session."""
    if principal.session is None:
        raise PolyflowError("the operator token has no session; this needs a signed-in admin")
    return principal.session


async def any_stage_admin(request: Request) -> identity.SignedIn | None:
    """For the sign-in step pages: the cookie's session at whatever stage, or None."""
    cookie = web.read_cookie(request, ADMIN_COOKIE)
    if not cookie:
        return None
    signed_in = await identity.authenticate_session(request.app.state.platform, cookie)
    if signed_in is not None:
        request.state.admin = signed_in
    return signed_in


async def optional_admin(request: Request) -> identity.SignedIn | None:
    """For pages: the fully signed-in admin from the cookie, or None (the page redirects to /login,
    which sends a half-finished sign-in on to its next step)."""
    signed_in = await any_stage_admin(request)
    return signed_in if signed_in is not None and signed_in.full else None


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    """The admin session cookie (never sent to tenant subdomains: host-only)."""
    web.set_session_cookie(request, response, ADMIN_COOKIE, token)


def clear_session_cookie(request: Request, response: Response) -> None:
    web.clear_session_cookie(request, response, ADMIN_COOKIE)


Operator = Annotated[str, Depends(require_operator)]
Admin = Annotated[Principal, Depends(authenticate)]
SignedInAdmin = Annotated[identity.SignedIn, Depends(require_admin_session)]
SigningIn = Annotated[identity.SignedIn, Depends(sign_in_session)]
