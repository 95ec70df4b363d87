"""Password hashing (argon2id) and one-time passwords."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# argon2id at OWASP's recommended minimum (19 MiB, 2 iterations, 1 lane): ~50 ms per hash here,
# against ~300 ms for the library default on a busy 2-core machine; logins and onboarding stay fast
# and a flood of logins cannot pin the CPU as easily. Hashes carry their parameters, so raising them
# later only needs `needs_rehash` at the next login.
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


_dummy_hash: str | None = None


def verify_or_dummy(password_hash: str | None, password: str) -> bool:
    """`verify_password` at the same cost when there is no hash to check (unknown account, or one
    invited but without a password yet), so a sign-in's timing does not tell which accounts exist."""
    global _dummy_hash
    if not password_hash:
        if _dummy_hash is None:
            _dummy_hash = hash_password(secrets.token_urlsafe(16))
        verify_password(_dummy_hash, password)
        return False
    return verify_password(password_hash, password)


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def one_time_password() -> str:
    """Readable enough to type once: 4 groups of 4 characters, ~80 bits."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4))
