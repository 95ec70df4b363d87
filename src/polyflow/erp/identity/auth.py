"""Who is calling, and may they: authentication and authorization dependencies for the tenant app.

Credentials, in order:
1. ``Authorization: Bearer pft_<tenant>_<secret>`` — an API token;
2. the ``pf_session`` cookie, ``pfs_<tenant>_<secret>`` — a browser session.

Both are bound to the tenant that issued them twice over: the tenant id is part of the token (a token
of another tenant is refused before any lookup) and the token is looked up in this tenant's own
database (where another tenant's token does not exist). Admin sessions (``pfa_``) are never valid here.

`authorize("catalog")` on a router checks, in order: signed in (401), the module is in the tenant's
plan (403, even for the owner), the user's roles grant ``catalog.read`` for GET/HEAD or
``catalog.write`` for anything else (403).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Annotated

from fastapi import Depends, Request
from fastapi.params import Depends as DependsParam
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError

from polyflow.erp.identity import audit
from polyflow.erp.identity.permissions import PERMISSIONS, covered_roles, module_of, permissions_for
from polyflow.erp.models import ApiToken, SignInPolicy, User, UserSession
from polyflow.kit import logs
from polyflow.kit.errors import Forbidden, NotAuthenticated
from polyflow.kit.web import split_token, token_hash
from polyflow.platform.entitlement_rules import denial
from polyflow.platform.tenancy.deps import TenantSession
from polyflow.platform.tenancy.route import TenantRoute
from polyflow.web import request_ip
from polyflow.web.csrf import check_same_origin

SESSION_COOKIE = "pf_session"
# Set after a successful sign-in: this browser is "known" for that account (the sign-in throttles let it through
# a flood of attempts by others, and count its failures apart from its IP address).
DEVICE_COOKIE = "pf_device"
SESSION_PREFIX = "pfs"
API_TOKEN_PREFIX = "pft"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
API_PREFIX = "/api/"  # the tenant's JSON API; everything else is pages (which post forms)
# last_seen_at / last_used_at are written at most this often (not on every request).
TOUCH_EVERY = timedelta(seconds=60)


@dataclass
class Principal:
    """The signed-in user of this request."""

    user: User
    roles: frozenset[str]
    permissions: frozenset[str]
    via: str  # "session" or "token"
    session: UserSession | None = None
    token: ApiToken | None = None
    ip: str | None = None
    # The workspace requires two-factor sign-in and this user has not enrolled: only enrolment is open.
    must_enrol_mfa: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def id(self) -> uuid.UUID:
        return self.user.id

    @property
    def csrf_token(self) -> str | None:
        return self.session.csrf_token if self.session is not None else None

    def can(self, permission: str) -> bool:
        return permission in self.permissions


def binding_of(route: TenantRoute) -> str:
    """The tenant part of this tenant's tokens."""
    return route.id.hex


def _bound(token: str, prefix: str, route: TenantRoute) -> str | None:
    """The token if it is well formed and issued by this tenant, else None."""
    parts = split_token(token, prefix)
    if parts is None or parts[0] != binding_of(route):
        return None
    return token


async def _touch(session, statement) -> None:
    """Record a use (last seen / last used) without ever failing the request for it: a database frozen
    read-only by a move or restore still serves reads."""
    try:
        async with session.begin_nested():
            await session.execute(statement)
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != "25006":
            raise


def _require_mfa():
    """The workspace's "everyone needs two factors" rule, read in the same query as the credential."""
    return select(SignInPolicy.require_mfa).where(SignInPolicy.id == 1).scalar_subquery()


async def _from_token(session, route: TenantRoute, raw: str, now: datetime) -> Principal:
    token = _bound(raw, API_TOKEN_PREFIX, route)
    if token is None:
        raise NotAuthenticated("invalid API token for this workspace")
    row = (await session.execute(
        select(ApiToken, User, _require_mfa()).join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == token_hash(token))
    )).first()
    if row is None:
        raise NotAuthenticated("invalid API token for this workspace")
    api_token, user, require_mfa = row
    if api_token.revoked_at is not None:
        raise NotAuthenticated("this API token was revoked")
    if api_token.expires_at is not None and api_token.expires_at <= now:
        raise NotAuthenticated("this API token has expired")
    if not user.is_active:
        raise NotAuthenticated("the user of this API token is deactivated")
    if api_token.last_used_at is None or now - api_token.last_used_at > TOUCH_EVERY:
        await _touch(session, update(ApiToken).where(ApiToken.id == api_token.id).values(last_used_at=now))
    roles = covered_roles(api_token.roles, user.roles)  # re-checked against the user's roles now
    return Principal(user, roles, permissions_for(roles), "token", token=api_token,
                     must_enrol_mfa=bool(require_mfa) and not user.has_totp)


async def _from_cookie(session, route: TenantRoute, raw: str, now: datetime, idle: timedelta) -> Principal | None:
    token = _bound(raw, SESSION_PREFIX, route)
    if token is None:
        return None
    row = (await session.execute(
        select(UserSession, User, _require_mfa()).join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == token_hash(token))
    )).first()
    if row is None:
        return None
    user_session, user, require_mfa = row
    if user_session.expires_at <= now or user_session.last_seen_at + idle <= now or not user.is_active:
        # Forget it now (its own commit: the request fails with 401 and would roll it back).
        try:
            await session.execute(delete(UserSession).where(UserSession.id == user_session.id))
            await session.commit()
        except DBAPIError as exc:
            await session.rollback()
            if getattr(exc.orig, "sqlstate", None) != "25006":  # frozen read-only: next time
                raise
        return None
    if now - user_session.last_seen_at > TOUCH_EVERY:
        await _touch(session, update(UserSession).where(UserSession.id == user_session.id).values(last_seen_at=now))
    roles = frozenset(user.roles)
    return Principal(user, roles, permissions_for(roles), "session", session=user_session,
                     must_enrol_mfa=bool(require_mfa) and not user.has_totp)


async def authenticate(request: Request, session: TenantSession) -> Principal:
    """The signed-in user of this request, or 401. Cached per request (FastAPI dependency cache)."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    route: TenantRoute = request.scope["state"]["tenant"]
    settings = request.app.state.platform.settings
    now = datetime.now(timezone.utc)
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise NotAuthenticated("use Authorization: Bearer <api token>")
        principal = await _from_token(session, route, value.strip(), now)
    else:
        raw = request.cookies.get(settings.cookie_name(SESSION_COOKIE))  # __Host- prefixed in production
        principal = None
        if raw:
            principal = await _from_cookie(session, route, raw, now, timedelta(minutes=settings.session_idle_minutes))
        if principal is None:
            raise NotAuthenticated("sign in first" if not raw else "your session has ended; sign in again")
        # A cookie is ambient: refuse what a foreign page could send (the API takes JSON only).
        check_same_origin(request, forms=not request.url.path.startswith(API_PREFIX))
    principal.ip = request_ip(request)
    request.state.principal = principal
    logs.set_user(str(principal.user.id))  # this request's log lines name the user (an id, not an address)
    audit.current_actor.set(audit.Actor(principal.user.id, principal.user.email, principal.ip))
    return principal


async def optional_principal(request: Request, session: TenantSession) -> Principal | None:
    """The signed-in user, or None (pages that show a sign-in link instead of refusing)."""
    try:
        return await authenticate(request, session)
    except NotAuthenticated:
        return None


CurrentUser = Annotated[Principal, Depends(authenticate)]


MUST_CHANGE = "choose your own password first: the one you were given works only for that (Account page, or POST /api/v1/auth/password)"
ENROL_FIRST = ("this workspace requires two-factor sign-in: turn it on first (Account page, or "
               "POST /api/v1/auth/mfa/totp then POST /api/v1/auth/mfa/totp/confirm)")


def check_permission(request: Request, principal: Principal, *permissions: str) -> None:
    """403 unless one of `permissions` has its module in the tenant's plan and is granted by the user's
    roles (and the user is not still on a one-time password, nor owes the workspace's 2FA enrolment)."""
    if principal.user.must_change_password:
        raise Forbidden(MUST_CHANGE)
    if principal.must_enrol_mfa:
        raise Forbidden(ENROL_FIRST)
    tenant, now = request.scope["state"]["tenant"], time.time()
    denials = {p: denial(tenant, m, now) for p in permissions if (m := module_of(p)) is not None}
    in_plan = [p for p in permissions if not denials.get(p)]
    if not in_plan:
        raise Forbidden(next(d for d in denials.values() if d))
    if not any(principal.can(p) for p in in_plan):
        roles = ", ".join(sorted(principal.roles)) or "none"
        raise Forbidden(f"your role ({roles}) does not allow {' or '.join(permissions)}")


def require(permission: str) -> DependsParam:
    """A dependency: the signed-in user must hold `permission` (and its module be in the plan)."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")

    async def check(request: Request, principal: CurrentUser) -> Principal:
        check_permission(request, principal, permission)
        return principal

    check.__name__ = f"require_{permission.replace('.', '_')}"
    return Depends(check)


def authorize(module: str) -> DependsParam:
    """A router dependency: ``<module>.read`` for safe methods, ``<module>.write`` for the rest."""
    return authorize_any(module)


def authorize_any(*modules: str) -> DependsParam:
    """A router dependency: ``<m>.read`` (safe methods) or ``<m>.write`` (the rest) of ANY of the modules
    (partners serve sales and purchasing alike). Its name, ``authorize_<m1>_or_<m2>``, is what the security
    tests read the rule from."""
    for module in modules:
        if f"{module}.read" not in PERMISSIONS:
            raise ValueError(f"unknown module {module!r}")

    async def check(request: Request, principal: CurrentUser) -> Principal:
        action = "read" if request.method in SAFE_METHODS else "write"
        check_permission(request, principal, *(f"{m}.{action}" for m in modules))
        return principal

    check.__name__ = "authorize_" + "_or_".join(modules)
    return Depends(check)
