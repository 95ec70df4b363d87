from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, Index, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from polyflow.kit.db import TenantBase, Timestamps, UUIDPk

ROLES = ("owner", "admin", "finance", "sales", "purchasing", "warehouse", "production", "viewer")


class User(UUIDPk, Timestamps, TenantBase):
    """A person who signs in to this tenant (users live in the tenant's own database)."""

    __tablename__ = "users"
    __table_args__ = (Index("uq_users_email_lower", text("lower(email)"), unique=True),)

    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    roles: Mapped[list[str]] = mapped_column(ARRAY(String(20)), default=list, server_default="{}")
    language: Mapped[str] = mapped_column(String(5), default="id", server_default="id")
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Two-factor (TOTP): the secret, encrypted with the platform's SecretBox (never stored in clear); it is
    # in use once totp_enabled_at is set (a secret without it is an enrolment waiting for its first code).
    # totp_last_step: the time step of the last accepted code, so each code works once.
    totp_secret_enc: Mapped[str | None] = mapped_column(Text)
    totp_enabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)

    @property
    def has_totp(self) -> bool:
        return self.totp_enabled_at is not None and bool(self.totp_secret_enc)
