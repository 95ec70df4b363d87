"""Secrets at rest: tenant database passwords are Fernet-encrypted with a key derived from SECRET_KEY."""

from __future__ import annotations

import base64
import hashlib
import secrets

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


def _fernet(secret: str) -> Fernet:
    key = hashlib.sha256(b"polyflow-secrets-v1:" + secret.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


class SecretBox:
    """Encrypts with the first key; decrypts with any (so keys can be rotated)."""

    def __init__(self, *secret_keys: str):
        if not secret_keys:
            raise ValueError("at least one secret key is required")
        self._multi = MultiFernet([_fernet(s) for s in secret_keys])

    def encrypt(self, plaintext: str) -> str:
        return self._multi.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._multi.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("secret cannot be decrypted with the configured SECRET_KEY") from exc

    def rotate(self, token: str) -> str:
        return self._multi.rotate(token.encode()).decode()


def new_password(nbytes: int = 24) -> str:
    """A random password made only of URL-safe characters (safe inside a quoted SQL literal)."""
    return secrets.token_urlsafe(nbytes)
