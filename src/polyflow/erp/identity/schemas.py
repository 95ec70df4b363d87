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


class MeOut(UserOut):
    permissions: list[str]
    via: Literal["session", "token"]
    csrf_token: str | None = Field(None, description="The session's CSRF token (the csrf_token field of forms)")


class PasswordChangeIn(BaseModel):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class TokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    roles: list[Role] | None = Field(None, description="A subset of your roles (default: all of them)")
    expires_days: int | None = Field(None, ge=1, le=3650)


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
    roles: list[Role] | None = None
    is_active: bool | None = None
    language: Language | None = None


class ResetRequestIn(BaseModel):
    email: str = Field(min_length=3, max_length=254)


class RedeemIn(BaseModel):
    token: str = Field(min_length=10, max_length=200)
    password: str = Field(min_length=1, max_length=1024)
    name: str | None = Field(None, max_length=200)


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
