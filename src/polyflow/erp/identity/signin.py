"""Proving who you are: sign-in (password, then a second factor when the user has one), step-up (confirming
the password or a code again before a sensitive action), password changes, signing out.

Every secret check goes through `throttle` (per account and client, growing locks). Argon2 runs in a worker
thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from polyflow.config import Settings
from polyflow.erp.identity import audit, throttle
from polyflow.erp.identity.auth import SESSION_PREFIX, Principal, binding_of
from polyflow.erp.models import ApiToken, OneTimeToken, RecoveryCode, User, UserSession
from polyflow.kit import totp
from polyflow.kit.crypto import SecretBox
from polyflow.kit.errors import Forbidden, InvalidInput, NotAuthenticated, TooManyRequests
from polyflow.kit.passwords import hash_password, needs_rehash, verify_or_dummy, verify_password
from polyflow.kit.ratelimit import RateLimiter
from polyflow.kit.web import new_token, token_hash
from polyflow.platform.tenancy.route import TenantRoute

log = logging.getLogger(__name__)
MFA_TICKET_MINUTES = 5
STEP_UP_PATH = "POST /api/v1/auth/step-up"
TOKENS_CANNOT = ("an API token cannot create tokens, invite users, change roles or two-factor settings; "
                 "sign in with your password in a browser or with POST /api/v1/auth/login")


MIN_PASSWORD = 10
MAX_PASSWORD = 128


def _now() -> datetime:
    return datetime.now(timezone.utc)


def check_password_rules(password: str, email: str | None = None) -> None:
    """422 unless the password is long enough, not trivial and not the email address."""
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"the password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InvalidInput(f"the password must have at most {MAX_PASSWORD} characters")
    if len(set(password)) < 4:
        raise InvalidInput("the password is too simple; use a mix of characters")
    if email and password.strip().lower() in (email.lower(), email.split("@")[0].lower()):
        raise InvalidInput("the password must not be your email address")


def step_up_needed(settings: Settings) -> str:
    return (f"confirm it is you first: {STEP_UP_PATH} with your current password or a two-factor code "
            f"(on the pages: the \"Confirm it is you\" form), then try again within {settings.step_up_minutes} minutes")


def require_step_up(principal: Principal, settings: Settings) -> None:
    """403 unless this is a browser session whose password or code was confirmed within step_up_minutes.
    API tokens never pass: a leaked token must not mint more credentials or people."""
    if principal.via != "session" or principal.session is None:
        raise Forbidden(TOKENS_CANNOT)
    at = principal.session.step_up_at
    if at is None or at + timedelta(minutes=settings.step_up_minutes) <= _now():
        raise Forbidden(step_up_needed(settings), headers={"X-Polyflow-Step-Up": "required"})


# -- sign-in ---------------------------------------------------------------------------------------------------
@dataclass
class LoginResult:
    user: User
    token: str  # the session cookie value (only its hash is stored)
    session: UserSession
    device: str  # the known-device cookie value for this account


@dataclass
class MfaRequired:
    user: User
    mfa_token: str  # the ticket for POST /api/v1/auth/login/mfa (single use, MFA_TICKET_MINUTES)


async def login(session: AsyncSession, route: TenantRoute, settings: Settings, limiter: RateLimiter, *,
                email: str, password: str, ip: str, user_agent: str | None,
                device: str | None = None) -> LoginResult | MfaRequired:
    """Check the password; open a session, or ask for the second factor when the user has one."""
    tenant = route.id.hex
    account = email.strip().lower()
    device_client = throttle.device_client(settings, tenant, account, device)
    await throttle.sign_in_rates(limiter, settings, tenant, ip, device_client is not None)
    attempt = await throttle.attempt(limiter, settings, f"login:{tenant}", account, device_client or f"ip:{ip}",
                                     "sign-ins for this account")
    user = await _user_by_email(session, email)
    ok = await asyncio.to_thread(verify_or_dummy, user.password_hash if user is not None else None, password)
    actor = audit.Actor(user.id, user.email, ip) if user is not None else audit.Actor(None, email.strip()[:254], ip)
    if not ok or user is None or not user.is_active or not user.password_hash:
        await audit.record(session, "login_failed", "user", user.id if user else None, actor=actor,
                           reason="inactive" if ok and user is not None and not user.is_active else "bad credentials")
        await session.commit()  # the failed attempt stays on record although the request fails
        await throttle.sign_in_failed(limiter, settings, tenant, ip)
        raise NotAuthenticated("wrong email or password")

    await attempt.succeeded()
    if needs_rehash(user.password_hash):
        user.password_hash = await asyncio.to_thread(hash_password, password)
    if user.has_totp:
        ticket = await _ticket(session, user)
        await audit.record(session, "login_password_ok", "user", user.id, actor=actor)
        return MfaRequired(user, ticket)
    return await _open_session(session, route, settings, user, ip=ip, user_agent=user_agent, actor=actor)


async def login_mfa(session: AsyncSession, route: TenantRoute, settings: Settings, limiter: RateLimiter,
                    box: SecretBox, *, mfa_token: str, code: str, ip: str, user_agent: str | None) -> LoginResult:
    """The second step: a TOTP code or a recovery code for the ticket the password step gave."""
    record = await session.scalar(
        select(OneTimeToken).where(OneTimeToken.token_hash == token_hash(mfa_token), OneTimeToken.purpose == "mfa")
        .with_for_update()
    )
    expired = "this sign-in has expired; start again with your email and password"
    if record is None or record.used_at is not None or record.expires_at <= _now():
        raise NotAuthenticated(expired)
    user = await session.get(User, record.user_id)
    if user is None or not user.is_active or not user.has_totp:
        raise NotAuthenticated(expired)
    actor = audit.Actor(user.id, user.email, ip)
    used = await second_factor(session, route, settings, limiter, box, user, code, ip=ip)
    if used is None:
        await audit.record(session, "mfa_failed", "user", user.id, actor=actor)
        await session.commit()
        raise NotAuthenticated("wrong or already used code")
    record.used_at = _now()
    return await _open_session(session, route, settings, user, ip=ip, user_agent=user_agent, actor=actor,
                               factor=used)


async def second_factor(session: AsyncSession, route: TenantRoute, settings: Settings, limiter: RateLimiter,
                        box: SecretBox, user: User, code: str, *, ip: str) -> str | None:
    """Check a TOTP code ("totp") or a recovery code ("recovery") and use it up; None when wrong. Throttled per
    (account, IP) and per account overall; each code works once, even for two requests at the same time."""
    tenant = route.id.hex
    per_account = f"mfa:user:{tenant}:{user.id}"
    if (await limiter.peek(per_account)).count >= settings.mfa_failures_per_hour:
        raise TooManyRequests("too many wrong two-factor codes for this account; try again later", retry_after=3600)
    attempt = await throttle.attempt(limiter, settings, f"mfa:{tenant}", str(user.id), f"ip:{ip}",
                                     "two-factor codes for this account")
    code = (code or "").strip()
    used = None
    secret = totp_secret(box, user) if code else None
    step = totp.verify(secret, code, last_step=user.totp_last_step) if secret else None
    if step is not None:
        # Conditional on the stored step: a second request with the same code finds it already taken.
        taken = await session.execute(
            update(User).where(User.id == user.id, (User.totp_last_step.is_(None)) | (User.totp_last_step < step))
            .values(totp_last_step=step))
        if taken.rowcount == 1:
            set_committed_value(user, "totp_last_step", step)
            used = "totp"
    elif code and len(code) <= 40:
        spent = await session.scalar(
            update(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None),
                                       RecoveryCode.code_hash == totp.hash_recovery_code(code))
            .values(used_at=_now()).returning(RecoveryCode.id))
        if spent is not None:
            used = "recovery"
    if used is None:
        await limiter.hit(per_account, 3600)
        return None
    await attempt.succeeded()
    return used


def totp_secret(box: SecretBox, user: User) -> str | None:
    """The user's TOTP secret, or None when this server's key cannot read it (a SECRET_KEY changed without
    re-encrypting): recovery codes still work, and the log says what is wrong."""
    try:
        return box.decrypt(user.totp_secret_enc)
    except ValueError:
        log.error("the TOTP secret of user %s cannot be decrypted with the configured SECRET_KEY", user.id)
        return None


async def _open_session(session: AsyncSession, route: TenantRoute, settings: Settings, user: User, *, ip: str,
                        user_agent: str | None, actor: audit.Actor, factor: str | None = None) -> LoginResult:
    now = _now()
    user.last_login_at = now
    # Forget this user's ended sessions while we are here.
    await session.execute(delete(UserSession).where(UserSession.user_id == user.id, UserSession.expires_at <= now))
    token = new_token(SESSION_PREFIX, binding_of(route))
    # The password (and code) were just confirmed: that counts as a step-up.
    record = UserSession(token_hash=token_hash(token), user_id=user.id, csrf_token=secrets.token_urlsafe(32),
                         last_seen_at=now, expires_at=now + timedelta(hours=settings.session_hours),
                         ip=ip, user_agent=(user_agent or "")[:300] or None, step_up_at=now)
    session.add(record)
    await audit.record(session, "login", "user", user.id, actor=actor, **({"factor": factor} if factor else {}))
    await session.flush()
    return LoginResult(user, token, record, throttle.new_device(settings, route.id.hex, user.email))


async def _ticket(session: AsyncSession, user: User) -> str:
    await session.execute(delete(OneTimeToken).where(OneTimeToken.user_id == user.id, OneTimeToken.purpose == "mfa",
                                                     OneTimeToken.used_at.is_(None)))
    ticket = secrets.token_urlsafe(32)
    session.add(OneTimeToken(token_hash=token_hash(ticket), user_id=user.id, purpose="mfa",
                             expires_at=_now() + timedelta(minutes=MFA_TICKET_MINUTES)))
    return ticket


async def _user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


# -- confirming again ------------------------------------------------------------------------------------------
async def check_current_password(route: TenantRoute, settings: Settings, limiter: RateLimiter, user: User,
                                 password: str, *, ip: str) -> None:
    """403 unless `password` is the user's; throttled like sign-in, per (account, IP)."""
    attempt = await throttle.attempt(limiter, settings, f"pw:{route.id.hex}", str(user.id), f"ip:{ip}",
                                     "password confirmations for this account")
    if not await asyncio.to_thread(verify_password, user.password_hash, password):
        raise Forbidden("the current password is wrong")
    await attempt.succeeded()


async def step_up(session: AsyncSession, route: TenantRoute, settings: Settings, limiter: RateLimiter,
                  box: SecretBox, principal: Principal, *, password: str | None, code: str | None,
                  ip: str) -> datetime:
    """Confirm the current password or a two-factor code; sensitive actions are open on this session until
    the returned time."""
    if principal.via != "session" or principal.session is None:
        raise Forbidden(TOKENS_CANNOT)
    user = principal.user
    if password:
        await check_current_password(route, settings, limiter, user, password, ip=ip)
    elif code:
        if not user.has_totp:
            raise InvalidInput("you have no two-factor sign-in; confirm with your password")
        if await second_factor(session, route, settings, limiter, box, user, code, ip=ip) is None:
            raise Forbidden("wrong or already used code")
    else:
        raise InvalidInput("give your current password or a two-factor code")
    now = _now()
    principal.session.step_up_at = now
    await audit.record(session, "step_up", "user", user.id, by="password" if password else "code")
    return now + timedelta(minutes=settings.step_up_minutes)


# -- passwords and signing out ---------------------------------------------------------------------------------
async def change_password(session: AsyncSession, route: TenantRoute, settings: Settings, limiter: RateLimiter,
                          principal: Principal, current: str, new: str, *, ip: str) -> None:
    """Change your own password (the current one checked and throttled); your other browsers are signed out."""
    user = principal.user
    await check_current_password(route, settings, limiter, user, current, ip=ip)
    check_password_rules(new, user.email)
    user.password_hash = await asyncio.to_thread(hash_password, new)
    user.must_change_password = False
    keep = principal.session.id if principal.session is not None else None
    stmt = delete(UserSession).where(UserSession.user_id == user.id)
    if keep is not None:
        stmt = stmt.where(UserSession.id != keep)
    await session.execute(stmt)
    await audit.record(session, "password_changed", "user", user.id)


async def logout(session: AsyncSession, principal: Principal) -> None:
    """End this browser session."""
    if principal.session is not None:
        await session.delete(principal.session)
        await audit.record(session, "logout", "user", principal.id)


async def revoke_all_tokens(session: AsyncSession, user_id) -> int:
    """Revoke every live API token of the user; how many."""
    result = await session.execute(update(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
                                   .values(revoked_at=_now()))
    return result.rowcount


async def logout_everywhere(session: AsyncSession, user_id, *, revoke_tokens: bool = False) -> int:
    """End every browser session of the user, and with `revoke_tokens` their API tokens too."""
    result = await session.execute(delete(UserSession).where(UserSession.user_id == user_id))
    revoked = await revoke_all_tokens(session, user_id) if revoke_tokens else 0
    await audit.record(session, "logout_all", "user", user_id, sessions=result.rowcount, tokens_revoked=revoked)
    return result.rowcount
