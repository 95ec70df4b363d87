"""Identity use cases on a tenant's database: API tokens, users, invites and resets (sign-in and step-up are in
`signin`, two-factor enrolment in `mfa`).

Only an owner acts on an owner: the admin role manages everyone else (`check_may_act_on`).

Each function takes the tenant session first; the caller's transaction commits it (nothing is
half-written). Argon2 hashing (~50 ms of CPU) runs in a worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import any_, delete, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.config import Settings
from polyflow.erp.identity import audit, outbox
from polyflow.erp.identity.auth import API_TOKEN_PREFIX, ENROL_FIRST, MUST_CHANGE, Principal, binding_of
from polyflow.erp.identity.permissions import covered_roles, valid_roles
from polyflow.erp.identity.signin import check_password_rules, logout_everywhere, require_step_up, revoke_all_tokens
from polyflow.erp.models import ApiToken, AuditEntry, OneTimeToken, User, UserSession
from polyflow.kit.errors import Conflict, Forbidden, InvalidInput, NotFound, TooManyRequests
from polyflow.kit.passwords import hash_password
from polyflow.kit.ratelimit import RateLimiter
from polyflow.kit.web import new_token, token_hash
from polyflow.platform.entitlement_rules import check_user_limit
from polyflow.platform.tenancy.route import TenantRoute


def _now() -> datetime:
    return datetime.now(timezone.utc)


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


# -- API tokens --------------------------------------------------------------------------------------------
@dataclass
class NewToken:
    record: ApiToken
    token: str  # shown once


def check_may_act_on(actor: Principal, target: User) -> None:
    """Only an owner acts on an owner's account (sessions, tokens, name, email, status, roles, mail)."""
    if "owner" in target.roles and "owner" not in actor.roles:
        raise Forbidden("only an owner can act on an owner's account")


async def create_token(session: AsyncSession, route: TenantRoute, settings: Settings, principal: Principal, *,
                       name: str, roles: list[str] | None, expires_days: int | None) -> NewToken:
    """A bearer token for the caller with exactly the roles chosen (at most the caller's), expiring after
    `expires_days` (default token_default_days); its owner is told by mail. Needs a recent step-up."""
    if principal.user.must_change_password:
        raise Forbidden(MUST_CHANGE)
    if principal.must_enrol_mfa:
        raise Forbidden(ENROL_FIRST)
    require_step_up(principal, settings)
    if not roles:
        raise InvalidInput("choose the token's roles (for example [\"viewer\"]): a token gets no role by default")
    try:
        wanted = valid_roles(roles)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    extra = set(wanted) - covered_roles(wanted, principal.roles)
    if extra:
        raise Forbidden(f"a token cannot have more rights than you: {', '.join(sorted(extra))}")
    if not name.strip():
        raise InvalidInput("give the token a name")
    days = expires_days or settings.token_default_days
    if not 1 <= days <= settings.token_max_days:
        raise InvalidInput(f"a token lasts from 1 to {settings.token_max_days} days")
    token = new_token(API_TOKEN_PREFIX, binding_of(route))
    record = ApiToken(token_hash=token_hash(token), user_id=principal.id, name=name.strip()[:100], hint=token[-4:],
                      roles=list(wanted), expires_at=_now() + timedelta(days=days))
    session.add(record)
    await session.flush()
    await audit.record(session, "token_created", "api_token", record.id, name=record.name, roles=record.roles)
    user = principal.user
    outbox.enqueue(session, user.email, f"A new API token for your account on {route.name}",
                   f"Hello {user.name},\n\nAn API token named \"{record.name}\" (ending in ...{record.hint}) was "
                   f"created for your account on {route.name} on Polyflow.\nRoles: {', '.join(record.roles)}. "
                   f"It expires on {record.expires_at:%Y-%m-%d}.\nCreated from the address {principal.ip or 'unknown'}."
                   f"\n\nIf this was not you, revoke it and change your password: {link_base(route, settings)}/account\n")
    return NewToken(record, token)


async def list_tokens(session: AsyncSession, user_id: uuid.UUID) -> list[ApiToken]:
    return list((await session.scalars(
        select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.created_at.desc())
    )).all())


async def revoke_token(session: AsyncSession, principal: Principal, token_id: uuid.UUID) -> ApiToken:
    """Revoke an API token: your own, or (users.manage) another user's, an owner's only by an owner."""
    token = await session.get(ApiToken, token_id)
    # Another user's token is "not found" unless the caller manages users.
    if token is None or (token.user_id != principal.id and not principal.can("users.manage")):
        raise NotFound("no such API token")
    if token.user_id != principal.id:
        check_may_act_on(principal, await get_user(session, token.user_id))
    if token.revoked_at is None:
        token.revoked_at = _now()
        await audit.record(session, "token_revoked", "api_token", token.id, name=token.name)
    return token


# -- users, invites, resets --------------------------------------------------------------------------------
def link_base(route, settings: Settings) -> str:
    """The tenant's canonical address for links in mail: its primary custom domain when the route carries
    one, else <subdomain>.<root domain>, with the configured public scheme and port. Never the request's
    Host: a forged Host or port must not turn a reset link into one that leaks the token elsewhere."""
    host = getattr(route, "primary_domain", None) or f"{route.subdomain}.{settings.root_domain}"
    port = f":{settings.public_port}" if settings.public_port else ""
    return f"{settings.public_scheme}://{host}{port}"


async def _one_time(session: AsyncSession, user: User, purpose: str, lifetime: timedelta) -> str:
    # A new link replaces any unused one of the same kind.
    await session.execute(delete(OneTimeToken).where(OneTimeToken.user_id == user.id, OneTimeToken.purpose == purpose,
                                                     OneTimeToken.used_at.is_(None)))
    token = secrets.token_urlsafe(32)
    session.add(OneTimeToken(token_hash=token_hash(token), user_id=user.id, purpose=purpose,
                             expires_at=_now() + lifetime))
    return token


async def send_invite(session: AsyncSession, settings: Settings, user: User, *, workspace: str, base: str) -> str:
    """Queue an invitation mail with a fresh one-time link (an older unused one stops working); returns the link
    (an operator recovering a workspace's owner hands it over when mail is not configured)."""
    token = await _one_time(session, user, "invite", timedelta(days=settings.invite_link_days))
    link = f"{base}/invite?token={token}"
    outbox.enqueue(session, user.email, f"You are invited to {workspace} on Polyflow",
                   f"Hello {user.name},\n\nYou have been invited to {workspace} on Polyflow.\n"
                   f"Choose your password here (the link works once, for {settings.invite_link_days} days):\n"
                   f"{link}\n")
    return link


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
                      roles: list[str], language: str, inviter: Principal) -> User:
    """Add a user without a password and mail them a one-time link to choose it (needs a recent step-up)."""
    require_step_up(inviter, settings)
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
    await send_invite(session, settings, user, workspace=route.name, base=link_base(route, settings))
    return user


async def resend_invite(session: AsyncSession, route: TenantRoute, settings: Settings, actor: Principal,
                        user_id: uuid.UUID) -> User:
    """A fresh invitation link for a user (the previous one stops working); needs a recent step-up."""
    user = await get_user(session, user_id)
    check_may_act_on(actor, user)
    require_step_up(actor, settings)
    if not user.is_active:
        raise Conflict("the user is deactivated; activate them first")
    await send_invite(session, settings, user, workspace=route.name, base=link_base(route, settings))
    return user


async def end_sessions(session: AsyncSession, actor: Principal, user_id: uuid.UUID, *,
                       revoke_tokens: bool = False) -> int:
    """Sign a user out of every browser (and revoke their API tokens if asked)."""
    check_may_act_on(actor, await get_user(session, user_id))
    return await logout_everywhere(session, user_id, revoke_tokens=revoke_tokens)


async def update_user(session: AsyncSession, route: TenantRoute, settings: Settings, actor: Principal,
                      user_id: uuid.UUID, *, name: str | None = None, email: str | None = None,
                      roles: list[str] | None = None, is_active: bool | None = None,
                      language: str | None = None) -> User:
    """Rename, re-address, change roles (needs a recent step-up), (de)activate a user; only an owner acts on
    an owner or makes one."""
    user = await get_user(session, user_id)
    check_may_act_on(actor, user)
    if roles is not None and "owner" in roles and "owner" not in actor.roles:
        raise Forbidden("only an owner can make someone an owner")
    if roles is not None:
        roles = _user_roles(roles)
        if roles != list(user.roles):
            require_step_up(actor, settings)
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
    if email is not None and email.strip().lower() != user.email.lower():
        email = normalize_email(email)
        if await user_by_email(session, email) is not None:
            raise Conflict(f"a user with email {email} already exists")
        user.email = email
    if language is not None:
        user.language = language
    if roles is not None:
        user.roles = roles
    if is_active is not None and is_active != user.is_active:
        user.is_active = is_active
        if not is_active:
            await session.execute(delete(UserSession).where(UserSession.user_id == user.id))
            await revoke_all_tokens(session, user.id)
    await session.flush()
    return user


async def request_reset(session: AsyncSession, route: TenantRoute, settings: Settings, limiter: RateLimiter, *,
                        email: str, ip: str) -> None:
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
                   f"minutes):\n{link_base(route, settings)}/reset/confirm?token={token}\n\nIf it was not you, ignore this message.\n")
    await audit.record(session, "reset_requested", "user", user.id,
                       actor=audit.Actor(user.id, user.email, ip))


async def redeem(session: AsyncSession, purpose: str, token: str, password: str, *, ip: str,
                 name: str | None = None, revoke_tokens: bool = False) -> User:
    """Use an invite or reset link once: set the password, end the user's sessions (and with `revoke_tokens`
    revoke their API tokens: someone who knew the old password may have made some)."""
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
    revoked = await revoke_all_tokens(session, user.id) if revoke_tokens else 0
    await audit.record(session, "invite_accepted" if purpose == "invite" else "password_reset", "user", user.id,
                       actor=audit.Actor(user.id, user.email, ip), tokens_revoked=revoked)
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


async def user_names(session: AsyncSession, ids) -> dict[uuid.UUID, str]:
    """The names of the users with these ids (one query; unknown ids are left out)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await session.execute(select(User.id, User.name).where(User.id.in_(wanted)))
    return {row.id: row.name for row in rows}
