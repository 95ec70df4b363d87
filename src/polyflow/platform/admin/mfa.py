"""Super-admin sign-in steps after the password (see identity.py): the two-factor code, the forced
replacement of a one-time password, enrolment, and later password changes; ``reset_mfa`` for the CLI.

Two-factor is mandatory for super-admins: TOTP (kit/totp, 30 s steps) with single-use codes (the newest
accepted step is kept, a code is never accepted twice), and 10 recovery codes shown once at enrolment,
stored as hashes and struck off when used. Wrong codes count like wrong passwords: after
``lockout_failures`` within ``lockout_minutes`` the account's codes are refused (429) for as long.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from dataclasses import dataclass

from sqlalchemy import delete, func, update
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.kit import totp
from polyflow.kit.errors import Forbidden, InvalidInput
from polyflow.kit.passwords import hash_password, verify_or_dummy
from polyflow.platform.admin import identity
from polyflow.platform.admin.identity import LoginFailed, LoginResult, SignedIn, TooManyAttempts
from polyflow.platform.models import AdminSession, AdminUser, PlatformEvent
from polyflow.platform.runtime import Platform

BAD_CODE = "wrong or already used code"
_STEP_NAMES = {"mfa": "enter your two-factor code", "password": "choose a new password",
               "enrol": "set up two-factor sign-in"}


class CodeFailed(LoginFailed):
    """A wrong, expired or replayed code (401)."""


@dataclass(frozen=True)
class Enrolment:
    secret: str  # base32, for typing into an authenticator app
    uri: str  # otpauth://..., what a QR code would carry


@dataclass(frozen=True)
class Enrolled:
    result: LoginResult  # the full session (a new token)
    recovery_codes: list[str]  # shown once


def next_step_message(stage: str) -> str:
    return f"finish signing in first: {_STEP_NAMES.get(stage, 'sign in again')}"


def _require_stage(signed_in: SignedIn, *stages: str) -> None:
    if signed_in.stage not in stages:
        if signed_in.full:
            raise Forbidden("this sign-in step is already done")
        raise Forbidden(next_step_message(signed_in.stage))


def _code_key(admin_id: uuid.UUID) -> str:
    return "admin-mfa:fail:" + hashlib.sha256(admin_id.bytes).hexdigest()[:32]


async def _throttle_codes(platform: Platform, admin_id: uuid.UUID) -> None:
    """429 while this account has had too many wrong codes (counted before the check, like passwords)."""
    s = platform.settings
    seen = await platform.limiter.peek(_code_key(admin_id))
    if seen.count >= s.lockout_failures:
        raise TooManyAttempts("too many wrong codes for this account; try again later", seen.retry_after)


async def _code_failed(platform: Platform, signed_in: SignedIn, kind: str) -> None:
    failed = await platform.limiter.hit(_code_key(signed_in.admin_id), platform.settings.lockout_minutes * 60)
    async with AsyncSession(platform.main_engine) as session:
        session.add(PlatformEvent(tenant_id=None, actor=signed_in.actor, action="admin.code_failed",
                                  detail={"kind": kind, "failures": failed.count}))
        await session.commit()
    raise CodeFailed(BAD_CODE)


async def _load(session: AsyncSession, admin_id: uuid.UUID) -> AdminUser:
    admin = await session.get(AdminUser, admin_id)
    if admin is None or not admin.is_active:
        raise LoginFailed("your sign-in has ended; sign in again")
    return admin


async def _consume(platform: Platform, session: AsyncSession, admin: AdminUser, code: str) -> str | None:
    """Use up a TOTP code or a recovery code of an enrolled admin: "totp", "recovery", or None (wrong,
    or used before). The row update is conditional, so two requests with one code cannot both pass."""
    code = (code or "").strip()[:64]
    if admin.totp_secret_enc is None or admin.mfa_enabled_at is None or not code:
        return None
    compact = "".join(code.split())
    if compact.isdigit():
        step = totp.verify(platform.secrets.decrypt(admin.totp_secret_enc), compact, last_step=admin.totp_last_step)
        if step is None:
            return None
        done = (await session.execute(
            update(AdminUser).where(AdminUser.id == admin.id,
                                    (AdminUser.totp_last_step.is_(None)) | (AdminUser.totp_last_step < step))
            .values(totp_last_step=step).execution_options(synchronize_session=False))).rowcount
        return "totp" if done else None
    hashed = totp.hash_recovery_code(code)
    done = (await session.execute(
        update(AdminUser).where(AdminUser.id == admin.id, AdminUser.recovery_code_hashes.contains([hashed]))
        .values(recovery_code_hashes=func.array_remove(AdminUser.recovery_code_hashes, hashed))
        .execution_options(synchronize_session=False))).rowcount
    return "recovery" if done else None


async def verify_code(platform: Platform, signed_in: SignedIn, code: str) -> LoginResult:
    """The sign-in's second step: a TOTP code or a recovery code (each accepted once)."""
    _require_stage(signed_in, "mfa")
    await _throttle_codes(platform, signed_in.admin_id)
    async with AsyncSession(platform.main_engine, expire_on_commit=False) as session:
        admin = await _load(session, signed_in.admin_id)
        before = len(admin.recovery_code_hashes)
        kind = await _consume(platform, session, admin, code)
        if kind is not None:
            left = before - (1 if kind == "recovery" else 0)
            session.add(PlatformEvent(tenant_id=None, actor=signed_in.actor, action="admin.code_accepted",
                                      detail={"kind": kind, "recovery_codes_left": left}))
        await session.commit()
    if kind is None:
        await _code_failed(platform, signed_in, "sign-in")
    await platform.limiter.clear(_code_key(signed_in.admin_id))
    return await identity.advance(platform, signed_in, identity.next_stage(admin, code_checked=True))


async def start_enrolment(platform: Platform, signed_in: SignedIn) -> Enrolment:
    """A new TOTP secret for an admin without two-factor (replacing an unconfirmed one); it counts
    only once `confirm_enrolment` sees a code from it."""
    _require_stage(signed_in, "enrol")
    secret = totp.new_secret()
    async with AsyncSession(platform.main_engine) as session:
        done = (await session.execute(
            update(AdminUser).where(AdminUser.id == signed_in.admin_id, AdminUser.mfa_enabled_at.is_(None))
            .values(totp_secret_enc=platform.secrets.encrypt(secret), totp_last_step=None))).rowcount
        await session.commit()
    if not done:
        raise Forbidden("two-factor sign-in is already set up for this account")
    return Enrolment(secret, totp.provisioning_uri(secret, signed_in.email, "Polyflow admin"))


async def confirm_enrolment(platform: Platform, signed_in: SignedIn, code: str) -> Enrolled:
    """Turn two-factor on with a code from the new secret; returns the full session and 10 recovery
    codes (shown once; only their hashes are kept)."""
    _require_stage(signed_in, "enrol")
    await _throttle_codes(platform, signed_in.admin_id)
    codes = totp.new_recovery_codes()
    async with AsyncSession(platform.main_engine, expire_on_commit=False) as session:
        admin = await _load(session, signed_in.admin_id)
        if admin.totp_secret_enc is None:
            raise InvalidInput("start the set-up first (a new secret), then confirm it with a code")
        step = totp.verify(platform.secrets.decrypt(admin.totp_secret_enc), code, last_step=None)
        if step is not None:
            done = (await session.execute(
                update(AdminUser).where(AdminUser.id == admin.id, AdminUser.mfa_enabled_at.is_(None),
                                        AdminUser.totp_secret_enc == admin.totp_secret_enc)
                .values(mfa_enabled_at=identity.now(), totp_last_step=step,
                        recovery_code_hashes=[totp.hash_recovery_code(c) for c in codes]))).rowcount
            if not done:
                raise Forbidden("two-factor sign-in was set up or restarted meanwhile; sign in again")
            session.add(PlatformEvent(tenant_id=None, actor=signed_in.actor, action="admin.mfa_enrolled",
                                      detail={"recovery_codes": len(codes)}))
        await session.commit()
    if step is None:
        await _code_failed(platform, signed_in, "enrolment")
    await platform.limiter.clear(_code_key(signed_in.admin_id))
    return Enrolled(await identity.advance(platform, signed_in, "full"), codes)


async def change_password(platform: Platform, signed_in: SignedIn, current: str, new: str,
                          code: str | None = None) -> LoginResult:
    """Replace the caller's password: the current one always, and a code (TOTP or recovery) unless this
    is the forced change of a one-time password (whose sign-in already checked a code when there is
    one). Every other session of the account ends; this one goes on under a new token."""
    _require_stage(signed_in, "password", "full")
    identity.check_password(new or "")
    if new == current:
        raise InvalidInput("choose a password different from the current one")
    key = identity._lockout_key(signed_in.email)
    settings = platform.settings
    failures = await platform.limiter.hit(key, settings.lockout_minutes * 60)
    if failures.count > settings.lockout_failures:
        raise TooManyAttempts("too many failed attempts for this account; try again later", failures.retry_after)
    async with AsyncSession(platform.main_engine, expire_on_commit=False) as session:
        admin = await _load(session, signed_in.admin_id)
    ok = await asyncio.to_thread(verify_or_dummy, admin.password_hash, (current or "")[:identity.MAX_PASSWORD])
    if not ok:
        async with AsyncSession(platform.main_engine) as session:
            session.add(PlatformEvent(tenant_id=None, actor=signed_in.actor, action="admin.password_change_failed",
                                      detail={"failures": failures.count}))
            await session.commit()
        raise LoginFailed("the current password is wrong")
    new_hash = await asyncio.to_thread(hash_password, new)
    if signed_in.full:
        await _throttle_codes(platform, signed_in.admin_id)
    async with AsyncSession(platform.main_engine, expire_on_commit=False) as session:
        admin = await _load(session, signed_in.admin_id)
        kind = None
        if signed_in.full:
            kind = await _consume(platform, session, admin, code or "")
            if kind is None:
                await session.rollback()
                await _code_failed(platform, signed_in, "password change")
        admin.password_hash, admin.must_change_password = new_hash, False
        ended = (await session.execute(delete(AdminSession).where(
            AdminSession.admin_user_id == admin.id, AdminSession.id != signed_in.session_id))).rowcount
        session.add(PlatformEvent(tenant_id=None, actor=signed_in.actor, action="admin.password_changed",
                                  detail={"forced": not signed_in.full, "other_sessions_ended": ended,
                                          "code": kind}))
        await session.commit()
    await platform.limiter.clear(key)
    await platform.limiter.clear(_code_key(signed_in.admin_id))
    stage = "full" if signed_in.full else identity.next_stage(admin, code_checked=True)
    return await identity.advance(platform, signed_in, stage)


async def reset_mfa(platform: Platform, email: str, *, actor: str = "cli") -> int:
    """Clear an admin's two-factor (secret, recovery codes) and end their sessions: they set it up again
    at their next sign-in. Returns how many sessions were ended."""
    async with AsyncSession(platform.main_engine, expire_on_commit=False) as session:
        admin = await identity._get(session, email)  # NotFound for an unknown email
        was_on = admin.mfa_enabled_at is not None
        admin.totp_secret_enc = admin.totp_last_step = admin.mfa_enabled_at = None
        admin.recovery_code_hashes = []
        ended = (await session.execute(delete(AdminSession).where(AdminSession.admin_user_id == admin.id))).rowcount
        session.add(PlatformEvent(tenant_id=None, actor=actor, action="admin.mfa_reset",
                                  detail={"email": admin.email, "was_enabled": was_on, "sessions_ended": ended}))
        await session.commit()
    await platform.limiter.clear(_code_key(admin.id))
    return ended
