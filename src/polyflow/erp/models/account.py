from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from polyflow.kit.db import TenantBase, Timestamps

ACCOUNT_TYPES = ("asset", "liability", "equity", "revenue", "expense")
# Accounts whose normal balance is on the debit side; the others are credit-normal.
DEBIT_NORMAL = ("asset", "expense")


class Account(Timestamps, TenantBase):
    """A ledger account of the chart of accounts (code is the stable key, e.g. 1141)."""

    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint("type IN (" + ", ".join(f"'{t}'" for t in ACCOUNT_TYPES) + ")", name="type"),
        CheckConstraint("code ~ '^[0-9A-Z.-]+$'", name="code_format"),
    )

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(20))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
