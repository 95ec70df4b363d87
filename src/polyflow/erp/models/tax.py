from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from polyflow.kit.db import TenantBase, Timestamps, UUIDPk

TAX_KINDS = ("ppn_output", "ppn_input", "pph23", "pph22", "exempt", "zero_rated", "not_collected")
# Kinds that never carry an amount (the supply is still reported, at 0).
ZERO_KINDS = ("exempt", "zero_rated", "not_collected")
BASE_RULES = ("full", "dpp_11_12")


def _in(column: str, values) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class TaxCode(UUIDPk, Timestamps, TenantBase):
    """One version of a tax code: its rate and base rule from `effective_from` through `effective_to`.

    A rate change is a new version of the same code (the old one gets an end date), never an edit, so
    documents keep the rate of their date. Versions of one code never overlap (checked by the service
    under an advisory lock on the code)."""

    __tablename__ = "tax_codes"
    __table_args__ = (
        UniqueConstraint("code", "effective_from", name="uq_tax_codes_code_effective_from"),
        CheckConstraint("code ~ '^[A-Z0-9][A-Z0-9._-]*$'", name="code_format"),
        CheckConstraint(_in("kind", TAX_KINDS), name="kind"),
        CheckConstraint(_in("base_rule", BASE_RULES), name="base_rule"),
        CheckConstraint("rate >= 0 AND rate <= 100", name="rate"),
        CheckConstraint(f"rate = 0 OR NOT ({_in('kind', ZERO_KINDS)})", name="zero_kinds_have_no_rate"),
        CheckConstraint("effective_to IS NULL OR effective_to >= effective_from", name="effective_range"),
    )

    code: Mapped[str] = mapped_column(String(20), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    rate: Mapped[Decimal] = mapped_column(Numeric(5, 2))  # percent
    base_rule: Mapped[str] = mapped_column(String(12), default="full", server_default="full")
    effective_from: Mapped[date] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)
    # Where the tax lands: on sales documents (PPN Keluaran, PPh 23 withheld by the customer = prepaid)
    # and on purchase documents (PPN Masukan, PPh 23 we withhold = payable).
    sales_account: Mapped[str | None] = mapped_column(ForeignKey("accounts.code", onupdate="CASCADE"))
    purchase_account: Mapped[str | None] = mapped_column(ForeignKey("accounts.code", onupdate="CASCADE"))
    description: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")


class CompanyTaxProfile(Timestamps, TenantBase):
    """The tenant company's own tax identity (exactly one row, id = 1): what its tax invoices carry as
    seller. Kept apart from tenant_settings so the tax module owns its rules."""

    __tablename__ = "company_tax_profile"
    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint("npwp ~ '^[0-9]{16}$'", name="npwp_format"),
        CheckConstraint("nitku ~ '^[0-9]{22}$'", name="nitku_format"),
        CheckConstraint("NOT is_pkp OR (npwp IS NOT NULL AND nitku IS NOT NULL)", name="pkp_has_npwp"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False, default=1)
    legal_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    npwp: Mapped[str | None] = mapped_column(String(16))
    nitku: Mapped[str | None] = mapped_column(String(22))
    is_pkp: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    pkp_since: Mapped[date | None] = mapped_column(Date)
    address: Mapped[str | None] = mapped_column(Text)
    tax_office: Mapped[str | None] = mapped_column(String(100))  # KPP, e.g. "KPP Pratama Tangerang Barat"
