from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from polyflow.kit.db import TenantBase

UNIT_KINDS = ("mass", "count", "length", "area", "volume", "package")


class Unit(TenantBase):
    """A unit of measure (KG, ROLL, BAL, PCS, ZAK, ...)."""

    __tablename__ = "units"
    __table_args__ = (
        CheckConstraint("kind IN (" + ", ".join(f"'{k}'" for k in UNIT_KINDS) + ")", name="kind"),
        CheckConstraint("code = upper(code)", name="code_upper"),
    )

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
