"""Polyflow super-admins (main database only): accounts, sign-in with throttling and lockout, sessions.

A super-admin signs in on the admin host and gets an opaque session token (``pfa_admin_...``) in a
host-only cookie; only its SHA-256 is stored. A session ends ``session_hours`` after sign-in, or
``session_idle_minutes`` after the last request, whichever comes first.

Sign-in has steps, and the session's ``stage`` says which one it is at; only a ``full`` session opens
the console and the API (platform/admin/mfa.py runs the steps):

    password ok -> "mfa"      (two-factor set up: a TOTP code or a recovery code)
                -> "password" (a one-time password: choose one, before anything else)
                -> "enrol"    (no two-factor yet: set it up, confirm with a code, keep the recovery codes)
                -> "full"

A session short of ``full`` lasts at most ``PENDING_MINUTES``; each step issues a new token. Nothing here ever touches a
tenant database, and no tenant credential is ever looked up here.

Every sign-in, failed sign-in, sign-out and account change is a line in ``platform_events`` with the
actor ``admin:<email>`` (the CLI's changes: ``cli``).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.kit.passwords import hash_password, needs_rehash, one_time_password, verify_or_dummy
from polyflow.kit.errors import Conflict, InvalidInput, NotFound, PolyflowError, TooManyRequests
from polyflow.kit.web import new_token, split_token, token_hash
from polyflow.platform.models import AdminSession, AdminUser, PlatformEvent
from polyflow.platform.runtime import Platform

TOKEN_PREFIX = "pfa"
TOKEN_BINDING = "admin"
MIN_PASSWORD = 12
MAX_PASSWORD = 1000  # argon2 takes any length; this only bounds the work a request can ask for
# last_seen_at (and the idle expiry with it) is written at most this often: one UPDATE per minute of
# activity, not one per request.
TOUCH_EVERY = timedelta(minutes=1)
# A half-finished sign-in (code, password change or enrolment still to do) lasts this long.
PENDING_MINUTES = 10

_EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
BAD_LOGIN = "wrong email or password"


class LoginFailed(PolyflowError):
    """Wrong email or password (the same answer for an unknown or deactivated account)."""

    status_code = 401


class TooManyAttempts(TooManyRequests):
    """Throttled (too many sign-ins from one address) or locked out (too many failures for one email)."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message, retry_after=retry_after)
        self.retry_after = max(int(retry_after), 1)


@dataclass(frozen=True)
class AdminOut:
    email: str
    name: str
    is_active: bool
    last_login_at: datetime | None
    created_at: datetime
    sessions: int  # live sessions now
    two_factor: bool = False  # set up and confirmed
    must_change_password: bool = False  # still on a one-time password


@dataclass(frozen=True)
class SignedIn:
    """A valid admin session, as the auth dependency sees it."""

    admin_id: uuid.UUID
    email: str
    name: str
    session_id: uuid.UUID
    csrf_token: str
    expires_at: datetime
    stage: str = "full"  # see the module docstring

    @property
    def actor(self) -> str:
        return actor_for(self.email)

    @property
    def full(self) -> bool:
        return self.stage == "full"


@dataclass(frozen=True)
class LoginResult:
    token: str  # the cookie value: shown once, only its hash is stored
    admin: SignedIn


def actor_for(email: str) -> str:
    return f"admin:{email}"[:200]  # platform_events.actor is String(200)


def now() -> datetime:
    return datetime.now(timezone.utc)


# --- input checks ------------------------------------------------------------------------------------


def normalize_email(email: str) -> str:
    """The stored and compared form of an email: trimmed, lowercase (or InvalidInput)."""
    email = (email or "").strip().lower()
    if len(email) > 254 or _CONTROL.search(email) or not _EMAIL.fullmatch(email):
        raise InvalidInput(f"invalid email '{email[:254]}'")
    return email


def check_password(password: str) -> str:
    if _CONTROL.search(password or ""):
        raise InvalidInput("the password must not contain control characters")
    if not MIN_PASSWORD <= len(password or "") <= MAX_PASSWORD:
        raise InvalidInput(f"the password must be {MIN_PASSWORD}-{MAX_PASSWORD} characters")
    return password


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 200 or _CONTROL.search(name):
        raise InvalidInput("the name must be 1-200 printable characters")
    return name


# --- accounts ----------------------------------------------------------------------------------------


async def _by_email(session: AsyncSession, email: str, *, lock: bool = False) -> AdminUser | None:
    query = select(AdminUser).where(func.lower(AdminUser.email) == email.lower())
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def _get(session: AsyncSession, email: str) -> AdminUser:
    admin = await _by_email(session, normalize_email(email), lock=True)
    if admin is None:
        raise NotFound(f"no admin '{email.strip().lower()}'")
    return admin


async def create_admin(platform: Platform, email: str, name: str | None = None, password: str | None = None,
                       *, actor: str = "cli") -> tuple[AdminOut, str | None]:
    """A new active super-admin; without a password, a one-time one is generated and returned (once),
    which the admin must replace at first sign-in."""
    email = normalize_email(email)
    name = _check_name(name if name is not None else email.split("@")[0])
    generated = None
    if password is None:
        password = generated = one_time_password()
    else:
        check_password(password)
    password_hash = await asyncio.to_thread(hash_password, password)
    async with AsyncSession(platform.main_engine, expire_on_commit=False) as session:
        if await _by_email(session, email) is not None:
            raise Conflict(f"an admin '{email}' already exists")
        admin = AdminUser(email=email, name=name, password_hash=password_hash, is_active=True,
                          must_change_password=generated is not None, recovery_code_hashes=[])
        session.add(admin)
        session.add(PlatformEvent(tenant_id=None, actor=actor, action="admin.created", detail={"email": email}))
        try:
            await session.commit()
        except IntegrityError:  # created by someone else between the check and the insert
            raise Conflict(f"an admin '{email}' already exists") from None
    return _out(admin, 0), generated


def _out(admin: AdminUser, sessions: int) -> AdminOut:
    return AdminOut(email=admin.email, name=admin.name, is_active=admin.is_active,
                    last_login_at=admin.last_login_at, created_at=admin.created_at, sessions=sessions,
                    two_factor=admin.mfa_enabled_at is not None, must_change_password=admin.must_change_password)


async def list_admins(session: AsyncSession) -> list[AdminOut]:
    """Every super-admin (active or not) by email, with its number of live sessions."""
    live = (select(AdminSession.admin_user_id, func.count().label("n")).where(AdminSession.expires_at > now())
            .group_by(AdminSession.admin_user_id).subquery())
    rows = (await session.execute(
        select(AdminUser, func.coalesce(live.c.n, 0)).outerjoin(live, live.c.admin_user_id == AdminUser.id)
        .order_by(AdminUser.email)
    )).all()
    return [_out(admin, n) for admin, n in rows]


async def deactivate_admin(platform: Platform, email: str, *, actor: str = "cli") -> int:
    """Deactivate a super-admin and end all their sessions at once; returns how many were ended."""
    async with AsyncSession(platform.main_engine) as session:
        admin = await _get(session, email)
        admin.is_active = False
        ended = (await session.execute(delete(AdminSession).where(AdminSession.admin_user_id == admin.id))).rowcount
        session.add(PlatformEvent(tenant_id=None, actor=actor, action="admin.deactivated",
                                  detail={"email": admin.email, "sessions_ended": ended}))
        await session.commit()
    return ended


async def set_password(platform: Platform, email: str, password: str | None = None, *,
                       actor: str = "cli") -> str | None:
    """Set a new password (None: generate a one-time one and return it, which must be changed at the
    next sign-in); ends every session of the account and lifts its lockout, so whoever knew the old
    password is out. Two-factor stays as it is (`reset_mfa` clears it)."""
    if password is not None:
        check_password(password)
    generated = one_time_password() if password is None else None
    password_hash = await asyncio.to_thread(hash_password, password or generated)
    async with AsyncSession(platform.main_engine) as session:
        admin = await _get(session, email)
        email = admin.email
        admin.password_hash = password_hash
        admin.must_change_password = generated is not None
        ended = (await session.execute(delete(AdminSession).where(AdminSession.admin_user_id == admin.id))).rowcount
        session.add(PlatformEvent(tenant_id=None, actor=actor, action="admin.password_set",
                                  detail={"email": email, "sessions_ended": ended,
                                          "one_time": generated is not None}))
        await session.commit()
    await platform.limiter.clear(_lockout_key(email))
    return generated


# --- sign-in -----------------------------------------------------------------------------------------


def _lockout_key(email: str) -> str:
    # Hashed: the typed email is attacker-chosen text; the key stays short and plain.
    return "admin-login:fail:" + hashlib.sha256(email.encode()).hexdigest()[:32]


async def login(platform: Platform, email: str, password: str, ip: str, user_agent: str | None) -> LoginResult:
    """Check an email and password and open a session; 401 on any mismatch (unknown, deactivated or
    wrong password alike), 429 when the address is throttled or the email is locked out."""
    settings, limiter = platform.settings, platform.limiter
    window = await limiter.hit(f"admin-login:ip:{ip}", 60)
    if window.count > settings.login_ip_per_minute:
        raise TooManyAttempts("too many sign-in attempts from your address; wait a minute", window.retry_after)

    typed = (email or "").strip().lower()[:254]
    key = _lockout_key(typed)
    # Counted before the password is checked (a success clears it): parallel guesses cannot all be
    # verified before the first failure is counted.
    failures = await limiter.hit(key, settings.lockout_minutes * 60)
    if failures.count > settings.lockout_failures:
        # Said for any email, known or not, so a lockout tells nothing about which accounts exist.
        raise TooManyAttempts("too many failed sign-ins for this account; try again later", failures.retry_after)

    password = (password or "")[:MAX_PASSWORD]
    # The argon2 check runs with no database connection held (a burst of sign-ins must not drain the pool).
    admin = None
    if typed and not _CONTROL.search(typed):
        async with AsyncSession(platform.main_engine, expire_on_commit=False) as session:
            admin = await _by_email(session, typed)
    ok = await asyncio.to_thread(verify_or_dummy, admin.password_hash if admin else None, password)
    ok = ok and admin.is_active
    if not ok:
        failed = failures
        detail = {"ip": ip, "failures": failed.count}
        if failed.count == settings.lockout_failures:
            detail["locked_for_minutes"] = settings.lockout_minutes
        async with AsyncSession(platform.main_engine) as session:
            session.add(PlatformEvent(tenant_id=None, actor=actor_for(_CONTROL.sub("?", typed) or "?"),
                                      action="admin.login_failed", detail=detail))
            await session.commit()
        raise LoginFailed(BAD_LOGIN)

    await limiter.clear(key)
    new_hash = await asyncio.to_thread(hash_password, password) if needs_rehash(admin.password_hash) else None
    token = new_token(TOKEN_PREFIX, TOKEN_BINDING)
    at = now()
    stage = next_stage(admin, code_checked=False)
    row = AdminSession(
        token_hash=token_hash(token), admin_user_id=admin.id, csrf_token=secrets.token_urlsafe(32),
        created_at=at, last_seen_at=at, expires_at=_expiry(settings, at, at, stage), ip=ip[:64],
        user_agent=_CONTROL.sub("", user_agent or "")[:300] or None, stage=stage,
    )
    async with AsyncSession(platform.main_engine, expire_on_commit=False) as session:
        changes = {"last_login_at": at} | ({"password_hash": new_hash} if new_hash else {})
        # Deactivated (or deleted) between the check and now: no session.
        updated = (await session.execute(update(AdminUser).where(AdminUser.id == admin.id, AdminUser.is_active)
                                         .values(**changes))).rowcount
        if not updated:
            raise LoginFailed(BAD_LOGIN)
        session.add(row)
        # Sessions of this account that ran out are of no further use.
        await session.execute(delete(AdminSession).where(AdminSession.admin_user_id == admin.id,
                                                         AdminSession.expires_at <= at))
        session.add(PlatformEvent(tenant_id=None, actor=actor_for(admin.email), action="admin.login",
                                  detail={"ip": ip, "user_agent": row.user_agent, "next": stage}))
        await session.commit()
    await limiter.clear(key)
    return LoginResult(token, SignedIn(admin.id, admin.email, admin.name, row.id, row.csrf_token, row.expires_at,
                                       stage))


def next_stage(admin: AdminUser, *, code_checked: bool) -> str:
    """Where a sign-in goes next: the code first (so a leaked one-time password alone cannot even change
    the password), then a one-time password's replacement, then enrolment, then the console."""
    if admin.mfa_enabled_at is not None and not code_checked:
        return "mfa"
    if admin.must_change_password:
        return "password"
    if admin.mfa_enabled_at is None:
        return "enrol"
    return "full"


def _expiry(settings, created_at: datetime, last_seen_at: datetime, stage: str = "full") -> datetime:
    limit = min(created_at + timedelta(hours=settings.session_hours),
                last_seen_at + timedelta(minutes=settings.session_idle_minutes))
    if stage != "full":
        # Not extended by activity: a half-finished sign-in ends PENDING_MINUTES after it began.
        limit = min(limit, created_at + timedelta(minutes=PENDING_MINUTES))
    return limit


async def advance(platform: Platform, signed_in: SignedIn, stage: str) -> LoginResult:
    """Move a session to its next sign-in stage under a new token (the one that did the step is void)."""
    token = new_token(TOKEN_PREFIX, TOKEN_BINDING)
    at = now()
    async with AsyncSession(platform.main_engine, expire_on_commit=False) as session:
        row = await session.get(AdminSession, signed_in.session_id, with_for_update=True)
        if row is None:
            raise LoginFailed("your sign-in has ended; sign in again")
        if stage == "full":
            row.created_at = at  # the session's lifetime counts from the last step of the sign-in
        row.token_hash, row.stage, row.last_seen_at = token_hash(token), stage, at
        row.expires_at = _expiry(platform.settings, row.created_at, at, stage)
        await session.commit()
    return LoginResult(token, SignedIn(signed_in.admin_id, signed_in.email, signed_in.name, row.id, row.csrf_token,
                                       row.expires_at, stage))


async def authenticate_session(platform: Platform, token: str) -> SignedIn | None:
    """The live session of an active admin that this cookie value opens, or None."""
    parts = split_token(token or "", TOKEN_PREFIX)
    if parts is None or parts[0] != TOKEN_BINDING:
        return None  # a tenant's token, or garbage: not even looked up
    async with AsyncSession(platform.main_engine, expire_on_commit=False) as session:
        found = (await session.execute(
            select(AdminSession, AdminUser).join(AdminUser, AdminUser.id == AdminSession.admin_user_id)
            .where(AdminSession.token_hash == token_hash(token))
        )).one_or_none()
        if found is None:
            return None
        row, admin = found
        at = now()
        # The absolute limit is re-applied with today's settings (a shortened session_hours holds at once).
        expires_at = min(row.expires_at, _expiry(platform.settings, row.created_at, row.last_seen_at, row.stage))
        if expires_at <= at or not admin.is_active:
            await session.execute(delete(AdminSession).where(AdminSession.id == row.id))
            await session.commit()
            return None
        if at - row.last_seen_at >= TOUCH_EVERY:
            expires_at = _expiry(platform.settings, row.created_at, at, row.stage)
            await session.execute(update(AdminSession).where(AdminSession.id == row.id)
                                  .values(last_seen_at=at, expires_at=expires_at))
            await session.commit()
    return SignedIn(admin.id, admin.email, admin.name, row.id, row.csrf_token, expires_at, row.stage)


async def logout(platform: Platform, signed_in: SignedIn, ip: str | None = None) -> None:
    """End this one session."""
    async with AsyncSession(platform.main_engine) as session:
        await session.execute(delete(AdminSession).where(AdminSession.id == signed_in.session_id))
        session.add(PlatformEvent(tenant_id=None, actor=signed_in.actor, action="admin.logout", detail={"ip": ip}))
        await session.commit()


async def logout_everywhere(platform: Platform, signed_in: SignedIn, ip: str | None = None) -> int:
    """End every session of this admin (this one included); returns how many."""
    async with AsyncSession(platform.main_engine) as session:
        ended = (await session.execute(
            delete(AdminSession).where(AdminSession.admin_user_id == signed_in.admin_id))).rowcount
        session.add(PlatformEvent(tenant_id=None, actor=signed_in.actor, action="admin.logout_all",
                                  detail={"ip": ip, "sessions_ended": ended}))
        await session.commit()
    return ended
