"""Two-factor sign-in for tenant users: TOTP enrolment (secret shown once, confirmed with a first code), recovery
codes (10, single use, stored hashed), turning it off (password and a code), and the workspace rule that every
user must have it (set by an owner).

The TOTP secret is encrypted with the platform's SecretBox, passed in by the caller (the ERP models know
nothing of the platform's keys).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.config import Settings
from polyflow.erp.identity import audit, outbox
from polyflow.erp.identity.auth import Principal
from polyflow.erp.identity.service import check_may_act_on
from polyflow.erp.identity.signin import check_current_password, require_step_up, second_factor, totp_secret
from polyflow.erp.models import RecoveryCode, SignInPolicy, User
from polyflow.kit import totp
from polyflow.kit.crypto import SecretBox
from polyflow.kit.errors import Conflict, Forbidden, InvalidInput
from polyflow.kit.ratelimit import RateLimiter
from polyflow.platform.tenancy.route import TenantRoute


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Enrolment:
    secret: str  # shown once, for typing into an authenticator app
    uri: str  # the otpauth:// URI (the same secret, for a QR code)


async def require_mfa(session: AsyncSession) -> bool:
    """Whether the workspace requires two-factor sign-in of every user."""
    return bool(await session.scalar(select(SignInPolicy.require_mfa).where(SignInPolicy.id == 1)))


async def recovery_codes_left(session: AsyncSession, user_id) -> int:
    return await session.scalar(select(func.count()).select_from(RecoveryCode)
                                .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))) or 0


async def begin(session: AsyncSession, route: TenantRoute, settings: Settings, box: SecretBox,
                principal: Principal) -> Enrolment:
    """Start enrolling an authenticator (needs a recent step-up): a new secret, in use once confirmed."""
    require_step_up(principal, settings)
    user = principal.user
    if user.has_totp:
        raise Conflict("two-factor sign-in is already on; turn it off first to move it to another device")
    secret = totp.new_secret()
    user.totp_secret_enc = box.encrypt(secret)
    user.totp_enabled_at = None
    user.totp_last_step = None
    return Enrolment(secret, totp.provisioning_uri(secret, user.email, issuer=f"Polyflow {route.name}"[:60]))


async def confirm(session: AsyncSession, route: TenantRoute, settings: Settings, limiter: RateLimiter,
                  box: SecretBox, principal: Principal, code: str) -> list[str]:
    """Turn two-factor sign-in on with a first valid code; returns the recovery codes (shown once)."""
    require_step_up(principal, settings)
    user = principal.user
    if user.has_totp:
        raise Conflict("two-factor sign-in is already on")
    if not user.totp_secret_enc:
        raise Conflict("start the enrolment first (POST /api/v1/auth/mfa/totp)")
    secret = totp_secret(box, user)
    if secret is None:
        raise Conflict("start the enrolment again (POST /api/v1/auth/mfa/totp)")
    # A recovery code cannot confirm an enrolment: only the authenticator's code proves it is set up.
    step = totp.verify(secret, code, last_step=user.totp_last_step)
    if step is None:
        await second_factor_failed(limiter, route, user)
        raise InvalidInput("wrong code: type the 6 digits your authenticator app shows now")
    user.totp_last_step = step
    user.totp_enabled_at = _now()
    codes = await _new_codes(session, user)
    await audit.record(session, "mfa_enabled", "user", user.id)
    outbox.enqueue(session, user.email, f"Two-factor sign-in is on for {route.name}",
                   f"Hello {user.name},\n\nTwo-factor sign-in was turned on for your account on {route.name}.\n"
                   f"If this was not you, ask an owner of the workspace for help at once.\n")
    return codes


async def second_factor_failed(limiter: RateLimiter, route: TenantRoute, user: User) -> None:
    await limiter.hit(f"mfa:user:{route.id.hex}:{user.id}", 3600)


async def disable(session: AsyncSession, route: TenantRoute, settings: Settings, limiter: RateLimiter,
                  box: SecretBox, principal: Principal, *, password: str, code: str, ip: str) -> None:
    """Turn two-factor sign-in off: the current password and a code (or a recovery code), both throttled."""
    if principal.via != "session":
        require_step_up(principal, settings)  # the clear "tokens cannot" message
    user = principal.user
    if not user.has_totp:
        raise Conflict("two-factor sign-in is not on")
    if await require_mfa(session):
        raise Conflict("this workspace requires two-factor sign-in: it cannot be turned off")
    await check_current_password(route, settings, limiter, user, password, ip=ip)
    if await second_factor(session, route, settings, limiter, box, user, code, ip=ip) is None:
        raise Forbidden("wrong or already used code")
    user.totp_secret_enc = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    await audit.record(session, "mfa_disabled", "user", user.id)
    outbox.enqueue(session, user.email, f"Two-factor sign-in is off for {route.name}",
                   f"Hello {user.name},\n\nTwo-factor sign-in was turned off for your account on {route.name}.\n"
                   f"If this was not you, change your password and ask an owner of the workspace for help.\n")


async def reset_for(session: AsyncSession, route: TenantRoute, settings: Settings, actor: Principal,
                    user: User) -> None:
    """Turn off another user's two-factor sign-in (their phone and codes are lost); needs a recent step-up.
    If the workspace requires it, they can then only enrol again. The user is told by mail."""
    check_may_act_on(actor, user)
    require_step_up(actor, settings)
    if user.totp_secret_enc is None:
        return
    user.totp_secret_enc = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    await audit.record(session, "mfa_reset", "user", user.id, by=actor.user.email)
    outbox.enqueue(session, user.email, f"Two-factor sign-in was reset for {route.name}",
                   f"Hello {user.name},\n\n{actor.user.name} turned off two-factor sign-in for your account on "
                   f"{route.name}. Sign in with your password and turn it on again on your Account page.\n"
                   f"If you did not ask for this, tell an owner of the workspace.\n")


async def regenerate_codes(session: AsyncSession, settings: Settings, principal: Principal) -> list[str]:
    """A new set of recovery codes (the old ones stop working); needs a recent step-up."""
    require_step_up(principal, settings)
    if not principal.user.has_totp:
        raise Conflict("turn two-factor sign-in on first")
    codes = await _new_codes(session, principal.user)
    await audit.record(session, "mfa_recovery_codes", "user", principal.id)
    return codes


async def _new_codes(session: AsyncSession, user: User) -> list[str]:
    await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = totp.new_recovery_codes()
    session.add_all(RecoveryCode(user_id=user.id, code_hash=totp.hash_recovery_code(c)) for c in codes)
    return codes


async def set_policy(session: AsyncSession, settings: Settings, principal: Principal, *, require: bool) -> bool:
    """An owner requires (or stops requiring) two-factor sign-in of every user; needs a recent step-up."""
    if "owner" not in principal.roles:
        raise Forbidden("only an owner can change the workspace's sign-in rules")
    require_step_up(principal, settings)
    if require and not principal.user.has_totp:
        raise Conflict("turn on two-factor sign-in for yourself first (Account page)")
    await session.execute(insert(SignInPolicy).values(id=1, require_mfa=require)
                          .on_conflict_do_update(index_elements=[SignInPolicy.id],
                                                 set_={"require_mfa": require, "updated_at": func.now()}))
    await audit.record(session, "sign_in_policy", "sign_in_policy", 1, require_mfa=require)
    return require
