from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Identity, Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from polyflow.kit.db import TenantBase, Timestamps, UUIDPk


class JournalEntry(UUIDPk, Timestamps, TenantBase):
    """A posted journal entry. Its lines balance: checked by the service and, at commit, by a deferred
    constraint trigger (migration 0003), so no code path can leave an unbalanced entry behind."""

    __tablename__ = "journal_entries"
    __table_args__ = (Index("ix_journal_entries_entry_date", "entry_date"),)

    number: Mapped[str] = mapped_column(String(32), unique=True)
    doc_type: Mapped[str] = mapped_column(String(8))
    entry_date: Mapped[date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(String(500))
    reference: Mapped[str | None] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(20), default="manual", server_default="manual")
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    lines: Mapped[list["JournalLine"]] = relationship(
        back_populates="entry", order_by="JournalLine.id", cascade="all, delete-orphan", lazy="selectin"
    )


class JournalLine(TenantBase):
    """One debit or credit of an entry (exactly one side is positive)."""

    __tablename__ = "journal_lines"
    __table_args__ = (
        CheckConstraint("debit >= 0 AND credit >= 0 AND (debit = 0) <> (credit = 0)", name="one_side"),
        Index("ix_journal_lines_account_code", "account_code"),
        Index("ix_journal_lines_entry_id", "entry_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    entry_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("journal_entries.id", ondelete="CASCADE"))
    account_code: Mapped[str] = mapped_column(ForeignKey("accounts.code"))
    debit: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0), server_default="0")
    credit: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0), server_default="0")
    memo: Mapped[str | None] = mapped_column(String(200))

    entry: Mapped[JournalEntry] = relationship(back_populates="lines")
