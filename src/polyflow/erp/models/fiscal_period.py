from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, Integer
from sqlalchemy.orm import Mapped, mapped_column

from polyflow.kit.db import TenantBase


class FiscalPeriod(TenantBase):
    """A calendar month of the books; a locked period takes no postings (checked by the service and a
    trigger on journal_entries)."""

    __tablename__ = "fiscal_periods"
    __table_args__ = (CheckConstraint("month BETWEEN 1 AND 12", name="month"),)

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    month: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    is_locked: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    locked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
