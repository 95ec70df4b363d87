"""Errors a user or operator can cause. Each maps to a 4xx/503 with a clear message, never a 500."""

from __future__ import annotations


class PolyflowError(Exception):
    status_code = 400
    headers: dict[str, str] | None = None

    def __init__(self, message: str, *, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        if headers is not None:
            self.headers = headers


class InvalidInput(PolyflowError):
    status_code = 422


class NotFound(PolyflowError):
    status_code = 404


class Conflict(PolyflowError):
    status_code = 409


class Forbidden(PolyflowError):
    status_code = 403


class Unavailable(PolyflowError):
    """Temporarily cannot serve (connection budget full, tenant database down, migration running)."""

    status_code = 503

    def __init__(self, message: str, *, retry_after: int = 1):
        super().__init__(message, headers={"Retry-After": str(retry_after)})


class NotAuthenticated(PolyflowError):
    """No valid credentials (401): sign in, or send a valid API token."""

    status_code = 401

    def __init__(self, message: str = "sign in first (session cookie or Authorization: Bearer <api token>)"):
        super().__init__(message, headers={"WWW-Authenticate": 'Bearer realm="polyflow"'})


class TooManyRequests(PolyflowError):
    status_code = 429

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message, headers={"Retry-After": str(max(int(retry_after), 1))})
