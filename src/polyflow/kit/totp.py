"""Two-factor sign-in: TOTP (RFC 6238, 30 s steps, 6 digits) and single-use recovery codes.

Used by tenant users and super-admins alike. The secret is stored Fernet-encrypted (``SecretBox``);
recovery codes are stored as SHA-256 hashes, like API tokens. A code is accepted once: the caller
keeps the last accepted time step and passes it back, so a code seen over someone's shoulder cannot
be replayed within its window.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

import pyotp

ISSUER = "Polyflow"
DIGITS = 6
STEP_SECONDS = 30
# Codes from one step before and after are accepted (clock drift between phone and server).
DRIFT_STEPS = 1
RECOVERY_CODES = 10


def new_secret() -> str:
    """A fresh base32 TOTP secret (160 bits)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, account: str, issuer: str = ISSUER) -> str:
    """The ``otpauth://`` URI an authenticator app reads (shown as text and as a QR code by pages)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(name=account, issuer_name=issuer)


def current_code(secret: str, at: float | None = None) -> str:
    """The code for ``at`` (now by default); tests and scripted clients use it."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).at(at if at is not None else time.time())


def verify(secret: str, code: str, *, last_step: int | None, at: float | None = None) -> int | None:
    """The time step ``code`` belongs to if it is valid and newer than ``last_step``, else None.

    Store the returned step as the new ``last_step``: that makes every code single-use.
    """
    code = "".join(ch for ch in (code or "") if not ch.isspace())
    if len(code) != DIGITS or not code.isdigit():
        return None
    now = at if at is not None else time.time()
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    step_now = int(now // STEP_SECONDS)
    for step in range(step_now - DRIFT_STEPS, step_now + DRIFT_STEPS + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def new_recovery_codes(n: int = RECOVERY_CODES) -> list[str]:
    """Codes shown once to the user, e.g. ``k7q2-9xmd-3pfa``; store only ``hash_recovery_code`` of each."""
    alphabet = "23456789abcdefghjkmnpqrstuvwxyz"  # no 0/o, 1/l/i: read off paper
    return ["-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(3)) for _ in range(n)]


def hash_recovery_code(code: str) -> str:
    """Normalised (case, spaces, dashes ignored) SHA-256 of a recovery code."""
    normal = "".join(ch for ch in (code or "").lower() if ch.isalnum())
    return hashlib.sha256(b"polyflow-recovery-v1:" + normal.encode()).hexdigest()
