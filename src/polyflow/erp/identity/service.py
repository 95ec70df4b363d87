"""Identity use cases on a tenant's database: sign-in, sessions, API tokens, users, invites and resets.

Each function takes the tenant session first; the caller's transaction commits it (nothing is
half-written). Argon2 hashing (~50 ms of CPU) runs in a worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import any_, delete, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.config import Settings
from polyflow.erp.identity import audit, outbox
from polyflow.erp.identity.auth import API_TOKEN_PREFIX, MUST_CHANGE, SESSION_PREFIX, Principal, binding_of
from polyflow.kit.passwords import hash_password, needs_rehash, verify_or_dummy, verify_password
from polyflow.erp.identity.permissions import covered_roles, valid_roles
from polyflow.erp.models import ApiToken, AuditEntry, OneTimeToken, User, UserSession
from polyflow.kit.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound, TooManyRequests
from polyflow.kit.ratelimit import RateLimiter
from polyflow.kit.web import new_token, token_hash
from polyflow.platform.entitlements import check_user_limit
from polyflow.platform.tenancy.route import TenantRoute

MIN_PASSWORD = 10
MAX_PASSWORD = 128


def _now() -> datetime:
    return datetime.now(timezone.utc)


def check_password_rules(password: str, email: str | None = None) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"the password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InvalidInput(f"the password must have at most {MAX_PASSWORD} characters")
    if len(set(password)) < 4:
        raise InvalidInput("the password is too simple; use a mix of characters")
    if email and password.strip().lower() in (email.lower(), email.split("@")[0].lower()):
        raise InvalidInput("the password must not be your email address")


def normalize_email(email: str) -> str:
    email = email.strip()
    local, at, domain = email.rpartition("@")
    if not at or not local or "." not in domain or len(email) > 254 or any(c.isspace() for c in email):
        raise InvalidInput("enter a valid email address")
    return f"{local}@{domain.lower()}"


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("no such user")
    return user


# -- sign-in -----------------------------------------------------------------------------------------------
@dataclass
class LoginResult:
    user: User
    token: str  # the session cookie value (only its hash is stored)
    session: UserSession


async def login(session: AsyncSession, route: TenantRoute, settings: Settings, limiter: RateLimiter, *,
                email: str, password: str, ip: str, user_agent: str | None) -> LoginResult:
    """Check the password and open a session; throttled per IP and per tenant, locked per account."""
    tenant = route.id.hex
    by_ip = await limiter.hit(f"login:ip:{ip}", 60)
    if by_ip.count > settings.login_ip_per_minute:
        raise TooManyRequests("too many sign-in attempts from your address; wait a minute", retry_after=by_ip.retry_after)
    by_tenant = await limiter.hit(f"login:tenant:{tenant}", 60)
    if by_tenant.count > settings.login_tenant_per_minute:
        raise TooManyRequests("too many sign-in attempts for this workspace; wait a minute",
                              retry_after=by_tenant.retry_after)
    # Counted before the password is checked (a success clears it), so parallel guesses cannot all
    # be verified before the first failure is counted.
    fail_key = f"login:fail:{tenant}:{email.strip().lower()}"
    attempts = await limiter.hit(fail_key, settings.lockout_minutes * 60)
    if attempts.count > settings.lockout_failures:
        minutes = max(1, (attempts.retry_after + 59) // 60)
        raise TooManyRequests(f"too many failed sign-ins for this account; try again in {minutes} minute(s)",
                              retry_after=attempts.retry_after)

    user = await user_by_email(session, email)
    ok = await asyncio.to_thread(verify_or_dummy, user.password_hash if user is not None else None, password)
    actor = audit.Actor(user.id, user.email, ip) if user is not None else audit.Actor(None, email.strip()[:254], ip)
    if not ok or user is None or not user.is_active or not user.password_hash:
        await audit.record(session, "login_failed", "user", user.id if user else None, actor=actor,
                           reason="inactive" if ok and user is not None and not user.is_active else "bad credentials")
        await session.commit()  # the failed attempt stays on record although the request fails
        raise NotAuthenticated("wrong email or password")

    await limiter.clear(fail_key)
    if needs_rehash(user.password_hash):
        user.password_hash = await asyncio.to_thread(hash_password, password)
    now = _now()
    user.last_login_at = now
    # Forget this user's ended sessions while we are here.
    await session.execute(delete(UserSession).where(UserSession.user_id == user.id, UserSession.expires_at <= now))
    token = new_token(SESSION_PREFIX, binding_of(route))
    record = UserSession(token_hash=token_hash(token), user_id=user.id, csrf_token=secrets.token_urlsafe(32),
                         last_seen_at=now, expires_at=now + timedelta(hours=settings.session_hours),
                         ip=ip, user_agent=(user_agent or "")[:300] or None)
    session.add(record)
    await audit.record(session, "login", "user", user.id, actor=actor)
    await session.flush()
    return LoginResult(user, token, record)


async def logout(session: AsyncSession, principal: Principal) -> None:
    if principal.session is not None:
        await session.delete(principal.session)
        await audit.record(session, "logout", "user", principal.id)


async def logout_everywhere(session: AsyncSession, user_id: uuid.UUID) -> int:
    """End every browser session of the user (API tokens stay: revoke them one by one)."""
    result = await session.execute(delete(UserSession).where(UserSession.user_id == user_id))
    await audit.record(session, "logout_all", "user", user_id, sessions=result.rowcount)
    return result.rowcount


async def change_password(session: AsyncSession, principal: Principal, current: str, new: str) -> None:
    user = principal.user
    if not await asyncio.to_thread(verify_password, user.password_hash, current):
        raise Forbidden("the current password is wrong")
    check_password_rules(new, user.email)
    user.password_hash = await asyncio.to_thread(hash_password, new)
    user.must_change_password = False
    # Other browsers signed in with the old password are signed out; this one stays.
    keep = principal.session.id if principal.session is not None else None
    stmt = delete(UserSession).where(UserSession.user_id == user.id)
    if keep is not None:
        stmt = stmt.where(UserSession.id != keep)
    await session.execute(stmt)
    await audit.record(session, "password_changed", "user", user.id)


# -- API tokens --------------------------------------------------------------------------------------------
@dataclass
class NewToken:
    record: ApiToken
    token: str  # shown once


async def create_token(session: AsyncSession, route: TenantRoute, principal: Principal, *, name: str,
                       roles: list[str] | None, expires_days: int | None) -> NewToken:
    """A bearer token for the caller, limited to `roles` (default: all of the caller's current roles)."""
    if principal.user.must_change_password:
        raise Forbidden(MUST_CHANGE)
    try:
        wanted = valid_roles(roles) if roles is not None else sorted(principal.roles)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    if not wanted:
        raise InvalidInput("a token needs at least one role")
    extra = set(wanted) - covered_roles(wanted, principal.roles)
    if extra:
        raise Forbidden(f"a token cannot have more rights than you: {', '.join(sorted(extra))}")
    if not name.strip():
        raise InvalidInput("give the token a name")
    token = new_token(API_TOKEN_PREFIX, binding_of(route))
    expires_at = _now() + timedelta(days=expires_days) if expires_days else None
    record = ApiToken(token_hash=token_hash(token), user_id=principal.id, name=name.strip()[:100], hint=token[-4:],
                      roles=list(wanted), expires_at=expires_at)
    session.add(record)
    await session.flush()
    await audit.record(session, "token_created", "api_token", record.id, name=record.name, roles=record.roles)
    return NewToken(record, token)


async def list_tokens(session: AsyncSession, user_id: uuid.UUID) -> list[ApiToken]:
    return list((await session.scalars(
        select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.created_at.desc())
    )).all())


async def revoke_token(session: AsyncSession, principal: Principal, token_id: uuid.UUID) -> ApiToken:
    token = await session.get(ApiToken, token_id)
    # Another user's token is "not found" unless the caller manages users.
    if token is None or (token.user_id != principal.id and not principal.can("users.manage")):
        raise NotFound("no such API token")
    if token.revoked_at is None:
        token.revoked_at = _now()
        await audit.record(session, "token_revoked", "api_token", token.id, name=token.name)
    return token


# -- users, invites, resets --------------------------------------------------------------------------------
def link_base(route, settings: Settings, host: str | None = None, scheme: str | None = None) -> str:
    """The tenant's site address for links in mail: the request's own host when there is one, else
    from settings (`route`: anything with a `subdomain`, a TenantRoute or the registry's Tenant)."""
    if host:
        return f"{scheme or 'https'}://{host}"
    port = f":{settings.public_port}" if settings.public_port else ""
    return f"{settings.public_scheme}://{route.subdomain}.{settings.root_domain}{port}"


async def _one_time(session: AsyncSession, user: User, purpose: str, lifetime: timedelta) -> str:
    # A new link replaces any unused one of the same kind.
    await session.execute(delete(OneTimeToken).where(OneTimeToken.user_id == user.id, OneTimeToken.purpose == purpose,
                                                     OneTimeToken.used_at.is_(None)))
    token = secrets.token_urlsafe(32)
    session.add(OneTimeToken(token_hash=token_hash(token), user_id=user.id, purpose=purpose,
                             expires_at=_now() + lifetime))
    return token


async def send_invite(session: AsyncSession, settings: Settings, user: User, *, workspace: str, base: str) -> None:
    """Queue an invitation mail with a fresh one-time link (an older unused one stops working)."""
    token = await _one_time(session, user, "invite", timedelta(days=settings.invite_link_days))
    outbox.enqueue(session, user.email, f"You are invited to {workspace} on Polyflow",
                   f"Hello {user.name},\n\nYou have been invited to {workspace} on Polyflow.\n"
                   f"Choose your password here (the link works once, for {settings.invite_link_days} days):\n"
                   f"{base}/invite?token={token}\n")


def _user_roles(roles: list[str]) -> list[str]:
    """Known roles in canonical order, at least one (422 otherwise)."""
    try:
        roles = valid_roles(roles)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    if not roles:
        raise InvalidInput("give the user at least one role")
    return roles


# Serialises "count active users, then add one" within a tenant database (held until commit), so
# concurrent invites or reactivations cannot pass the plan's limit together.
_SEAT_LOCK = 0x5EA7


async def _check_seat(session: AsyncSession, route: TenantRoute) -> None:
    if route.max_users is None:
        return
    await session.execute(select(func.pg_advisory_xact_lock(_SEAT_LOCK)))
    active = await session.scalar(select(func.count()).select_from(User).where(User.is_active.is_(True)))
    check_user_limit(route, active or 0)


async def invite_user(session: AsyncSession, route: TenantRoute, settings: Settings, *, email: str, name: str,
                      roles: list[str], language: str, inviter: Principal, base: str) -> User:
    email = normalize_email(email)
    roles = _user_roles(roles)
    if "owner" in roles and "owner" not in inviter.roles:
        raise Forbidden("only an owner can make someone an owner")
    if await user_by_email(session, email) is not None:
        raise Conflict(f"a user with email {email} already exists")
    await _check_seat(session, route)
    user = User(email=email, name=name.strip() or email.split("@")[0], roles=roles, language=language,
                password_hash=None)
    session.add(user)
    await session.flush()
    await send_invite(session, settings, user, workspace=route.name, base=base)
    return user


async def update_user(session: AsyncSession, route: TenantRoute, actor: Principal, user_id: uuid.UUID, *,
                      name: str | None = None, roles: list[str] | None = None, is_active: bool | None = None,
                      language: str | None = None) -> User:
    user = await get_user(session, user_id)
    touches_owner = "owner" in user.roles or (roles is not None and "owner" in roles)
    if touches_owner and (roles is not None or is_active is not None) and "owner" not in actor.roles:
        raise Forbidden("only an owner can change an owner's roles or status, or make someone an owner")
    if roles is not None:
        roles = _user_roles(roles)
    if is_active is True and not user.is_active:
        await _check_seat(session, route)
    losing_owner = "owner" in user.roles and user.is_active and (
        (roles is not None and "owner" not in roles) or is_active is False)
    if losing_owner:
        # Lock the owners so two concurrent demotions cannot both pass the check.
        owners = (await session.scalars(
            select(User.id).where(literal("owner") == any_(User.roles), User.is_active.is_(True)).with_for_update()
        )).all()
        if len(owners) <= 1:
            raise Conflict("the workspace must keep at least one active owner")
    if name is not None:
        if not name.strip():
            raise InvalidInput("the name cannot be empty")
        user.name = name.strip()
    if language is not None:
        user.language = language
    if roles is not None:
        user.roles = roles
    if is_active is not None and is_active != user.is_active:
        user.is_active = is_active
        if not is_active:
            await session.execute(delete(UserSession).where(UserSession.user_id == user.id))
            await session.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                                  .values(revoked_at=_now()))
    await session.flush()
    return user


async def request_reset(session: AsyncSession, route: TenantRoute, settings: Settings, limiter: RateLimiter, *,
                        email: str, ip: str, base: str) -> None:
    """Mail a reset link if the address belongs to an active user; the answer never says which."""
    window = await limiter.hit(f"reset:ip:{ip}", 3600)
    if window.count > 10:
        raise TooManyRequests("too many reset requests from your address; try again later",
                              retry_after=window.retry_after)
    user = await user_by_email(session, email)
    if user is None or not user.is_active:
        return
    per_user = await limiter.hit(f"reset:user:{route.id.hex}:{user.id}", 3600)
    if per_user.count > 3:
        return  # silently: a flood of reset mails to one person is harassment
    token = await _one_time(session, user, "reset", timedelta(minutes=settings.reset_link_minutes))
    outbox.enqueue(session, user.email, "Reset your Polyflow password",
                   f"Hello {user.name},\n\nSomeone asked to reset your password for {route.name} on Polyflow.\n"
                   f"If it was you, choose a new one here (the link works once, for {settings.reset_link_minutes} "
                   f"minutes):\n{base}/reset/confirm?token={token}\n\nIf it was not you, ignore this message.\n")
    await audit.record(session, "reset_requested", "user", user.id,
                       actor=audit.Actor(user.id, user.email, ip))


async def redeem(session: AsyncSession, purpose: str, token: str, password: str, *, ip: str,
                 name: str | None = None) -> User:
    """Use an invite or reset link once: set the password, end the user's sessions."""
    now = _now()
    record = await session.scalar(
        select(OneTimeToken).where(OneTimeToken.token_hash == token_hash(token), OneTimeToken.purpose == purpose)
        .with_for_update()
    )
    if record is None or record.used_at is not None or record.expires_at <= now:
        raise InvalidInput("this link is invalid, already used or expired; ask for a new one")
    user = await get_user(session, record.user_id)
    if not user.is_active:
        raise InvalidInput("this link is invalid, already used or expired; ask for a new one")
    check_password_rules(password, user.email)
    record.used_at = now
    user.password_hash = await asyncio.to_thread(hash_password, password)
    user.must_change_password = False
    if name and name.strip():
        user.name = name.strip()[:200]
    await session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    await audit.record(session, "invite_accepted" if purpose == "invite" else "password_reset", "user", user.id,
                       actor=audit.Actor(user.id, user.email, ip))
    return user


async def list_users(session: AsyncSession, *, active: bool | None, limit: int, offset: int) -> tuple[list[User], int]:
    """The workspace's users by email, and how many match."""
    query = select(User)
    if active is not None:
        query = query.where(User.is_active.is_(active))
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = (await session.scalars(query.order_by(func.lower(User.email)).limit(limit).offset(offset))).all()
    return list(rows), total or 0


async def list_audit(session: AsyncSession, *, entity: str | None = None, entity_id: str | None = None,
                     user_id: uuid.UUID | None = None, action: str | None = None, limit: int = 50,
                     offset: int = 0) -> tuple[list[AuditEntry], int]:
    """Audit entries, newest first, and how many match."""
    query = select(AuditEntry)
    if entity:
        query = query.where(AuditEntry.entity == entity)
    if entity_id:
        query = query.where(AuditEntry.entity_id == entity_id)
    if user_id:
        query = query.where(AuditEntry.user_id == user_id)
    if action:
        query = query.where(AuditEntry.action == action)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = (await session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit).offset(offset))).all()
    return list(rows), total or 0
