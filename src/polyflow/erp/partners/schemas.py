from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from polyflow.kit import tax_ids as identifiers
from polyflow.kit.money import AmountOut as Money
from polyflow.kit.limits import Day

EntityType = Literal["company", "individual"]
PriceSide = Literal["sale", "purchase"]
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._/-]*$"
EMAIL_PATTERN = r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$"
# Whole rupiah (documents are whole rupiah; so is the limit they are checked against).
CreditLimit = Field(default=None, ge=0, max_digits=18, decimal_places=0, allow_inf_nan=False)


def _normalise(fn, value: str | None) -> str | None:
    if value is None or value == "":
        return None
    return fn(value)


class _Identity(BaseModel):
    """Identity numbers: separators stripped, lengths checked (erp/tax/identifiers.py)."""

    _npwp = field_validator("npwp", check_fields=False)(classmethod(lambda cls, v: _normalise(identifiers.npwp, v)))
    _nik = field_validator("nik", check_fields=False)(classmethod(lambda cls, v: _normalise(identifiers.nik, v)))
    _nitku = field_validator("nitku", check_fields=False)(classmethod(lambda cls, v: _normalise(identifiers.nitku, v)))
    _code = field_validator("code", check_fields=False)(classmethod(lambda cls, v: v.upper() if v else v))


class PartnerIn(_Identity):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = Field(min_length=1, max_length=32, pattern=CODE_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    is_customer: bool = False
    is_supplier: bool = False
    entity_type: EntityType = "company"
    npwp: str | None = Field(default=None, max_length=40, description="16 digits (a legacy 15-digit one gets a leading 0)")
    nik: str | None = Field(default=None, max_length=40, description="16 digits, individuals only")
    nitku: str | None = Field(default=None, max_length=40, description="22 digits; default NPWP (or NIK) + 000000")
    is_pkp: bool = False
    address: str | None = Field(default=None, max_length=2000)
    city: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=50)
    email: str | None = Field(default=None, max_length=254, pattern=EMAIL_PATTERN)
    payment_terms_days: int = Field(default=0, ge=0, le=3650)
    credit_limit: Decimal | None = CreditLimit

    @model_validator(mode="after")
    def _a_role(self):
        if not (self.is_customer or self.is_supplier):
            raise ValueError("a partner is a customer, a supplier or both: set is_customer and/or is_supplier")
        return self


class PartnerPatch(_Identity):
    """Only the fields sent change; null clears an optional field (code is not editable)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=1, max_length=200)
    is_customer: bool | None = None
    is_supplier: bool | None = None
    entity_type: EntityType | None = None
    npwp: str | None = Field(default=None, max_length=40)
    nik: str | None = Field(default=None, max_length=40)
    nitku: str | None = Field(default=None, max_length=40)
    is_pkp: bool | None = None
    address: str | None = Field(default=None, max_length=2000)
    city: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=50)
    email: str | None = Field(default=None, max_length=254, pattern=EMAIL_PATTERN)
    payment_terms_days: int | None = Field(default=None, ge=0, le=3650)
    credit_limit: Decimal | None = CreditLimit


class PartnerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    code: str
    name: str
    is_customer: bool
    is_supplier: bool
    entity_type: str
    npwp: str | None
    nik: str | None
    nitku: str | None
    is_pkp: bool
    address: str | None
    city: str | None
    phone: str | None
    email: str | None
    payment_terms_days: int
    credit_limit: Money | None
    is_active: bool
    created_at: datetime
    updated_at: datetime


class PriceIn(BaseModel):
    """A partner-specific price of a variant from a date (tax-exclusive, per the product's unit)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    variant_id: uuid.UUID
    side: PriceSide
    price: Decimal = Field(ge=0, max_digits=18, decimal_places=2, allow_inf_nan=False)
    effective_from: Day
    effective_to: Day | None = None

    @model_validator(mode="after")
    def _range(self):
        if self.effective_to is not None and self.effective_to < self.effective_from:
            raise ValueError("effective_to is before effective_from")
        return self


class PriceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    partner_id: uuid.UUID
    variant_id: uuid.UUID
    sku: str
    side: str
    price: Money
    effective_from: date
    effective_to: date | None
    created_at: datetime
