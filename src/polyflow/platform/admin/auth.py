"""Admin API authentication: the operator token from settings (`Authorization: Bearer <token>`).

The identity issue adds super-admin users with sessions; the token stays for automation.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from polyflow.kit.errors import Forbidden, PolyflowError


class Unauthorized(PolyflowError):
    status_code = 401

    def __init__(self, message: str):
        super().__init__(message, headers={"WWW-Authenticate": "Bearer"})


def require_operator(request: Request) -> str:
    """The caller's identity for the audit log ("operator-token"), or 401/403."""
    expected = request.app.state.platform.settings.operator_token
    if expected is None:
        raise Forbidden("the admin API is disabled: set POLYFLOW_OPERATOR_TOKEN")
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("missing bearer token")
    if not hmac.compare_digest(token.strip().encode(), expected.get_secret_value().encode()):
        raise Unauthorized("invalid operator token")
    return "operator-token"


Operator = Annotated[str, Depends(require_operator)]
