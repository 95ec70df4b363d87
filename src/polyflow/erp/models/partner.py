from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import (
    Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from polyflow.erp.models.product import ProductVariant
from polyflow.kit.db import TenantBase, Timestamps, UUIDPk

ENTITY_TYPES = ("company", "individual")


class Partner(UUIDPk, Timestamps, TenantBase):
    """A customer and/or supplier, with its Indonesian tax identity (NPWP / NIK, NITKU, PKP).

    Identity numbers are stored as bare digits (the API accepts dots and dashes and strips them); the
    database checks the lengths again so no other writer can store a malformed one."""

    __tablename__ = "partners"
    __table_args__ = (
        CheckConstraint("code <> ''", name="code_not_empty"),
        CheckConstraint("is_customer OR is_supplier", name="customer_or_supplier"),
        CheckConstraint("entity_type IN ('company', 'individual')", name="entity_type"),
        CheckConstraint("npwp ~ '^[0-9]{16}$'", name="npwp_format"),
        CheckConstraint("nik ~ '^[0-9]{16}$'", name="nik_format"),
        CheckConstraint("nitku ~ '^[0-9]{22}$'", name="nitku_format"),
        CheckConstraint("payment_terms_days >= 0 AND payment_terms_days <= 3650", name="payment_terms"),
        # Whole rupiah: documents are in whole rupiah, so is the limit they are checked against.
        CheckConstraint("credit_limit >= 0 AND credit_limit = trunc(credit_limit)", name="credit_limit"),
        Index("ix_partners_npwp", "npwp"),
        Index("ix_partners_name", "name"),
    )

    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    is_customer: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    is_supplier: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    entity_type: Mapped[str] = mapped_column(String(12), default="company", server_default="company")
    npwp: Mapped[str | None] = mapped_column(String(16))
    nik: Mapped[str | None] = mapped_column(String(16))
    nitku: Mapped[str | None] = mapped_column(String(22))
    is_pkp: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    address: Mapped[str | None] = mapped_column(Text)
    city: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(50))
    email: Mapped[str | None] = mapped_column(String(254))
    payment_terms_days: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    credit_limit: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))  # None: no limit
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")


class PartnerPrice(UUIDPk, Timestamps, TenantBase):
    """A partner-specific price of a product variant: what we sell it to a customer for ("sale") or buy it
    from a supplier for ("purchase"), from `effective_from` (through `effective_to`, if set). On a date
    the price in effect is the one that started last; an entry is never edited, a new one supersedes it."""

    __tablename__ = "partner_prices"
    __table_args__ = (
        # Also the index of the lookup "price of (partner, variant, side) on a date".
        UniqueConstraint("partner_id", "variant_id", "side", "effective_from",
                         name="uq_partner_prices_partner_variant_side_from"),
        CheckConstraint("side IN ('sale', 'purchase')", name="side"),
        CheckConstraint("price >= 0", name="price"),
        CheckConstraint("effective_to IS NULL OR effective_to >= effective_from", name="effective_range"),
    )

    partner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    variant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("product_variants.id", ondelete="CASCADE"), index=True)
    side: Mapped[str] = mapped_column(String(8))
    price: Mapped[Decimal] = mapped_column(Numeric(18, 2))  # per the product's unit, tax-exclusive
    effective_from: Mapped[date] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)

    variant: Mapped[ProductVariant] = relationship(lazy="joined")

    @property
    def sku(self) -> str:
        return self.variant.sku
