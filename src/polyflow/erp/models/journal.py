from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

from sqlalchemy import (
    BigInteger, CheckConstraint, Date, FetchedValue, ForeignKey, Identity, Index, Numeric, String, inspect,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from polyflow.kit.db import TenantBase, Timestamps, UUIDPk


JOURNAL_STATES = ("draft", "posted")


class JournalEntry(UUIDPk, Timestamps, TenantBase):
    """A journal entry: a draft (manual journals only: its lines wait in `draft_lines`, a provisional
    number, in no report) or posted (numbered, lines in journal_lines, never changed again: triggers refuse updates and
    deletes, migration 0007). Posted lines balance: checked by the service and, at commit, by a deferred
    constraint trigger (migration 0003), so no code path can leave an unbalanced entry behind. A reversal
    points at the entry it reverses (`reversal_of_id`, unique: an entry is reversed at most once)."""

    __tablename__ = "journal_entries"
    __table_args__ = (
        Index("ix_journal_entries_entry_date", "entry_date"),
        CheckConstraint("status IN ('draft', 'posted')", name="status"),
    )

    # A draft's number is provisional ("DRAFT-..."): the gap-free one is given when it is posted.
    number: Mapped[str] = mapped_column(String(32), unique=True)
    doc_type: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(10), default="posted", server_default="posted")
    entry_date: Mapped[date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(String(500))
    reference: Mapped[str | None] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(20), default="manual", server_default="manual")
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reversal_of_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("journal_entries.id"), unique=True)
    draft_lines: Mapped[list | None] = mapped_column(JSONB)

    lines: Mapped[list["JournalLine"]] = relationship(
        back_populates="entry", order_by="JournalLine.id", cascade="all, delete-orphan", lazy="selectin"
    )
    # The entry that reverses this one (loaded with it; None on an entry just created).
    reversed_by: Mapped["JournalEntry | None"] = relationship(
        foreign_keys=[reversal_of_id], remote_side="JournalEntry.reversal_of_id",
        primaryjoin="JournalEntry.id == foreign(JournalEntry.reversal_of_id)", uselist=False, lazy="selectin",
        viewonly=True, join_depth=1,  # self-referential: eager loading needs a depth
    )

    @property
    def reversed_by_id(self) -> uuid.UUID | None:
        if "reversed_by" in inspect(self).unloaded:
            return None
        return self.reversed_by.id if self.reversed_by is not None else None

    @property
    def shown_lines(self) -> list:
        """The lines to show: the posted ones, or a draft's."""
        if self.status == "draft":
            return [SimpleNamespace(account_code=d["account"], debit=Decimal(d["debit"]), credit=Decimal(d["credit"]),
                                    memo=d.get("memo")) for d in self.draft_lines or []]
        return list(self.lines)


class JournalLine(TenantBase):
    """One debit or credit of an entry (exactly one side is positive)."""

    __tablename__ = "journal_lines"
    __table_args__ = (
        CheckConstraint("debit >= 0 AND credit >= 0 AND (debit = 0) <> (credit = 0)", name="one_side"),
        # An account's lines by date, and all lines by date, answered from the index alone (revision 0012).
        Index("ix_journal_lines_account_code_line_date", "account_code", "line_date",
              postgresql_include=["debit", "credit"]),
        Index("ix_journal_lines_line_date", "line_date", postgresql_include=["account_code", "debit", "credit"]),
        Index("ix_journal_lines_entry_id", "entry_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    entry_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("journal_entries.id", ondelete="CASCADE"))
    account_code: Mapped[str] = mapped_column(ForeignKey("accounts.code"))
    debit: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0), server_default="0")
    credit: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0), server_default="0")
    memo: Mapped[str | None] = mapped_column(String(200))
    # The entry's date, copied by a BEFORE INSERT trigger (revision 0012): reports range over lines alone.
    # Not named entry_date, so that SQL joining lines and entries keeps its unqualified entry_date.
    line_date: Mapped[date] = mapped_column(Date, server_default=FetchedValue())

    entry: Mapped[JournalEntry] = relationship(back_populates="lines")


class ClosedMonthBalance(TenantBase):
    """Sums of one account's lines in one calendar month that lies entirely in closed books (on or before
    tenant_settings.books_closed_through): written when the lock date moves forward, deleted when it moves
    back (accounting.set_books_closed_through). Nothing posts into closed days, so they never go stale;
    balances as of a date read them plus the lines of the open days."""

    __tablename__ = "closed_month_balances"
    __table_args__ = (CheckConstraint("month = date_trunc('month', month)::date", name="first_day"),)

    month: Mapped[date] = mapped_column(Date, primary_key=True)  # its first day
    account_code: Mapped[str] = mapped_column(ForeignKey("accounts.code"), primary_key=True)
    debit: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    credit: Mapped[Decimal] = mapped_column(Numeric(18, 2))
