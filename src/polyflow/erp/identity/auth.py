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
from sqlalchemy import delete, event, inspect, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from polyflow.erp.identity import audit
from polyflow.erp.identity.permissions import PERMISSIONS, covered_roles, module_of, permissions_for
from polyflow.erp.models import ApiToken, SignInPolicy, User, UserSession
from polyflow.kit import logs
from polyflow.kit.errors import Forbidden, NotAuthenticated
from polyflow.kit.web import split_token, token_hash
from polyflow.platform.entitlement_rules import denial
from polyflow.platform.tenancy.context import current_tenant
from polyflow.platform.tenancy.credentials import CredentialCache, current_credentials
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
            # Not a change of who may do what: keeps the verified-credential cache (see _CHANGES below).
            await session.execute(statement.execution_options(**{_TOUCH: True}))
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != "25006":
            raise


def _require_mfa():
    """The workspace's "everyone needs two factors" rule, read in the same query as the credential."""
    return select(SignInPolicy.require_mfa).where(SignInPolicy.id == 1).scalar_subquery()


async def _from_token(session, route: TenantRoute, raw: str, now: datetime) -> tuple[Principal, float]:
    """The principal of an API token, and for how long (seconds) it may be reused without a lookup."""
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
    used = api_token.last_used_at
    if used is None or now - used > TOUCH_EVERY:
        await _touch(session, update(ApiToken).where(ApiToken.id == api_token.id).values(last_used_at=now))
        used = now
    return _token_principal(user, api_token, bool(require_mfa)), _ends(now, used + TOUCH_EVERY, api_token.expires_at)


def _token_principal(user: User, api_token: ApiToken, require_mfa: bool) -> Principal:
    roles = covered_roles(api_token.roles, user.roles)  # re-checked against the user's roles now
    return Principal(user, roles, permissions_for(roles), "token", token=api_token,
                     must_enrol_mfa=require_mfa and not user.has_totp)


async def _from_cookie(session, route: TenantRoute, raw: str, now: datetime,
                       idle: timedelta) -> tuple[Principal, float] | None:
    """The principal of a session cookie (None: not a live session), and for how long it may be reused."""
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
    seen = user_session.last_seen_at
    if now - seen > TOUCH_EVERY:
        await _touch(session, update(UserSession).where(UserSession.id == user_session.id).values(last_seen_at=now))
        seen = now
    return (_session_principal(user, user_session, bool(require_mfa)),
            _ends(now, seen + TOUCH_EVERY, seen + idle, user_session.expires_at))


def _session_principal(user: User, user_session: UserSession, require_mfa: bool) -> Principal:
    roles = frozenset(user.roles)
    return Principal(user, roles, permissions_for(roles), "session", session=user_session,
                     must_enrol_mfa=require_mfa and not user.has_totp)


# -- the verified-credential cache -----------------------------------------------------------------------
# A request with a known token skips the lookup in its tenant's database (platform.tenancy.credentials).
# Cached: copies of the rows that were verified (user, token or session) and the sign-in policy's flag; each
# hit rebuilds them as objects of the request's own session (no query), so endpoints that change the user or
# the session (a password, a step-up, sign-out) write through the ORM exactly as after a lookup.
# Dropped for the whole tenant, in every process, after any committed change to these tables, whoever made
# it (the commit hook below; "last used"/"last seen" writes excepted), and when the tenant itself changes.
_CHANGES = frozenset({User.__tablename__, ApiToken.__tablename__, UserSession.__tablename__,
                      SignInPolicy.__tablename__})
_TOUCH = "polyflow_credential_touch"
_DIRTY = "polyflow_credentials_changed"


def _ends(now: datetime, *ends: datetime | None) -> float:
    """Seconds until the earliest of ``ends`` (the reuse of a verified credential stops there)."""
    return min((end - now).total_seconds() for end in ends if end is not None)


def _cache(request: Request) -> CredentialCache | None:
    cache = getattr(request.app.state.platform, "credentials", None)
    return cache if cache is not None and cache.enabled else None


def _generation(request: Request, route: TenantRoute):
    cache = _cache(request)
    return cache.generation(route.id) if cache is not None else None


def _snapshot(obj) -> dict:
    return {attr.key: getattr(obj, attr.key) for attr in inspect(obj).mapper.column_attrs}


def _revive(session, cls, values: dict):
    """A persistent object of ``session`` with these column values, as if just loaded (no query)."""
    obj = inspect(cls).class_manager.new_instance()
    for key, value in values.items():
        set_committed_value(obj, key, list(value) if isinstance(value, list) else value)  # own mutable copies
    make_transient_to_detached(obj)
    session.add(obj)
    return obj


def _store(request: Request, route: TenantRoute, token: str, principal: Principal, lifetime: float,
           generation) -> None:
    cache = _cache(request)
    if cache is None:
        return
    credential = principal.token if principal.via == "token" else principal.session
    value = (principal.via, _snapshot(principal.user), _snapshot(credential),
             principal.must_enrol_mfa or None)
    cache.put(route.id, token_hash(token), value, lifetime, generation)


def _cached(request: Request, session, route: TenantRoute, token: str) -> Principal | None:
    cache = _cache(request)
    if cache is None:
        return None
    value = cache.get(route.id, token_hash(token))
    if value is None:
        return None
    via, user_values, credential_values, must_enrol = value
    user = _revive(session.sync_session, User, user_values)
    if via == "token":
        principal = _token_principal(user, _revive(session.sync_session, ApiToken, credential_values), False)
    else:
        principal = _session_principal(user, _revive(session.sync_session, UserSession, credential_values), False)
    principal.must_enrol_mfa = bool(must_enrol)
    return principal


def _note_bulk_change(state) -> None:
    """An UPDATE/DELETE statement on an identity table (revoke all, sign out everywhere...)."""
    if (state.is_update or state.is_delete) and not state.execution_options.get(_TOUCH):
        table = getattr(state.statement, "table", None)
        if getattr(table, "name", None) in _CHANGES:
            state.session.info[_DIRTY] = True


def _note_flush(session, _flush_context) -> None:
    for obj in (*session.dirty, *session.deleted):
        if getattr(obj, "__tablename__", None) in _CHANGES:
            session.info[_DIRTY] = True
            return


def _after_commit(session) -> None:
    if not session.info.pop(_DIRTY, False):
        return
    cache, route = current_credentials.get(), current_tenant.get()
    if cache is not None and route is not None:
        cache.tenant_changed(route.id)
    # Elsewhere (the CLI, a job) nothing in this process holds the tenant's credentials; the other processes'
    # entries end with their short TTL.


def _after_rollback(session) -> None:
    session.info.pop(_DIRTY, None)


def install_credential_hooks() -> None:
    """Hook the change detection into every ORM session (it only acts on the identity tables)."""
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "do_orm_execute", _note_bulk_change)
        event.listen(Session, "after_flush", _note_flush)
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)


install_credential_hooks()


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
        token = value.strip()
        principal = _cached(request, session, route, token)
        if principal is None:
            generation = _generation(request, route)
            principal, lifetime = await _from_token(session, route, token, now)
            _store(request, route, token, principal, lifetime, generation)
    else:
        raw = request.cookies.get(settings.cookie_name(SESSION_COOKIE))  # __Host- prefixed in production
        principal = None
        if raw:
            principal = _cached(request, session, route, raw)
            if principal is None:
                generation = _generation(request, route)
                found = await _from_cookie(session, route, raw, now,
                                           timedelta(minutes=settings.session_idle_minutes))
                if found is not None:
                    principal, lifetime = found
                    _store(request, route, raw, principal, lifetime, generation)
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
