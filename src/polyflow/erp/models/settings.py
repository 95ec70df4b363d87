from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from polyflow.kit.db import TenantBase, Timestamps


class TenantSettings(Timestamps, TenantBase):
    """The company's own data and tax settings (exactly one row, id = 1)."""

    __tablename__ = "tenant_settings"
    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint("ppn_rate >= 0 AND ppn_rate <= 100", name="ppn_rate"),
        CheckConstraint("language IN ('id', 'en')", name="language"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False, default=1)
    company_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    npwp: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(50))
    email: Mapped[str | None] = mapped_column(String(254))
    currency: Mapped[str] = mapped_column(String(3), default="IDR", server_default="IDR")
    ppn_rate: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("11"), server_default="11")
    # Nothing may be posted on or before this date (journals, stock movements, reversals): checked by
    # accounting.ensure_postable and by triggers on journal_entries and stock_movements (migration 0007).
    books_closed_through: Mapped[date | None] = mapped_column(Date)
    # The company's local time zone: "today" for future-dated postings and default dates.
    time_zone: Mapped[str] = mapped_column(String(64), default="Asia/Jakarta", server_default="Asia/Jakarta")
    # The pages' language before sign-in and the default for new users ("id" Bahasa Indonesia, or "en").
    language: Mapped[str] = mapped_column(String(5), default="id", server_default="id")
