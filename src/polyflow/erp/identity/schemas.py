"""JSON shapes of the identity API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from polyflow.erp.models.user import ROLES

Role = Literal[ROLES]  # type: ignore[valid-type]
Language = Literal["id", "en"]


class LoginIn(BaseModel):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=1024)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    name: str
    roles: list[str]
    language: str
    is_active: bool
    must_change_password: bool
    last_login_at: datetime | None
    has_password: bool = False
    has_totp: bool = False


class MeOut(UserOut):
    permissions: list[str]
    via: Literal["session", "token"]
    csrf_token: str | None = Field(None, description="The session's CSRF token (the csrf_token field of forms)")
    must_enrol_mfa: bool = Field(False, description="The workspace requires two-factor sign-in: enrol first")


class PasswordChangeIn(BaseModel):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class LoginMfaIn(BaseModel):
    mfa_token: str = Field(min_length=10, max_length=200, description="From the password step's answer")
    code: str = Field(min_length=1, max_length=40, description="The authenticator's 6 digits, or a recovery code")


class MfaChallengeOut(BaseModel):
    mfa_required: Literal[True] = True
    mfa_token: str
    detail: str = "enter a two-factor code: POST /api/v1/auth/login/mfa with mfa_token and code"


class StepUpIn(BaseModel):
    password: str | None = Field(None, max_length=1024)
    code: str | None = Field(None, max_length=40, description="A two-factor code instead of the password")


class StepUpOut(BaseModel):
    step_up_until: datetime


class LogoutAllIn(BaseModel):
    revoke_tokens: bool = Field(False, description="Revoke your API tokens as well")


class MfaStatusOut(BaseModel):
    enabled: bool
    recovery_codes_left: int
    required_by_workspace: bool


class MfaEnrolmentOut(BaseModel):
    secret: str = Field(description="Shown once: type it into an authenticator app")
    otpauth_uri: str
    detail: str = "confirm with a code from the app: POST /api/v1/auth/mfa/totp/confirm"


class MfaCodeIn(BaseModel):
    code: str = Field(min_length=1, max_length=40)


class MfaDisableIn(BaseModel):
    password: str = Field(min_length=1, max_length=1024)
    code: str = Field(min_length=1, max_length=40)


class RecoveryCodesOut(BaseModel):
    recovery_codes: list[str] = Field(description="Shown once; each works once")


class SignInPolicyIn(BaseModel):
    require_mfa: bool


class SignInPolicyOut(BaseModel):
    require_mfa: bool


class TokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    roles: list[Role] = Field(min_length=1, description="The token's roles, chosen explicitly (at most yours)")
    expires_days: int | None = Field(None, ge=1, le=3650, description="Default POLYFLOW_TOKEN_DEFAULT_DAYS (90)")


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    hint: str
    roles: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class NewTokenOut(TokenOut):
    token: str = Field(description="Shown once: store it now")


class UserIn(BaseModel):
    email: str = Field(min_length=3, max_length=254)
    name: str = Field("", max_length=200)
    roles: list[Role] = Field(min_length=1)
    language: Language = "id"


class UserPatch(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    email: str | None = Field(None, min_length=3, max_length=254)
    roles: list[Role] | None = None
    is_active: bool | None = None
    language: Language | None = None


class ResetRequestIn(BaseModel):
    email: str = Field(min_length=3, max_length=254)


class RedeemIn(BaseModel):
    token: str = Field(min_length=10, max_length=200)
    password: str = Field(min_length=1, max_length=1024)
    name: str | None = Field(None, max_length=200)
    revoke_tokens: bool = Field(True, description="Reset only: revoke the user's API tokens as well")


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    user_id: uuid.UUID | None
    actor: str
    action: str
    entity: str
    entity_id: str | None
    changes: dict
    ip: str | None
