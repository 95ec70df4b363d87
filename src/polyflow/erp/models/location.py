from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from polyflow.kit.db import TenantBase, Timestamps, UUIDPk

LOCATION_KINDS = ("warehouse", "production", "scrap", "transit", "quarantine")


class Location(UUIDPk, Timestamps, TenantBase):
    """A place that holds stock: a warehouse or a production area."""

    __tablename__ = "locations"
    __table_args__ = (
        CheckConstraint("kind IN (" + ", ".join(f"'{k}'" for k in LOCATION_KINDS) + ")", name="kind"),
    )

    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
