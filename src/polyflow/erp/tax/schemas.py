from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, field_validator, model_validator

from polyflow.kit import tax_ids as identifiers
from polyflow.kit.limits import Day

CENT = Decimal("0.01")
# Amounts and rates always leave the API in one canonical form, "1000000.00" (never "1e6" or "1000000").
Money = Annotated[Decimal, PlainSerializer(lambda d: str(d.quantize(CENT)), return_type=str, when_used="json")]
TaxKind = Literal["ppn_output", "ppn_input", "pph23", "pph22", "exempt", "zero_rated", "not_collected"]
BaseRule = Literal["full", "dpp_11_12"]
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
Rate = Field(ge=0, le=100, max_digits=5, decimal_places=2)
ACCOUNT = Field(default=None, min_length=1, max_length=20)


def _upper(v: str | None) -> str | None:
    return v.upper() if v else v


class TaxCodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = Field(min_length=1, max_length=20, pattern=CODE_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    kind: TaxKind
    rate: Decimal = Rate
    base_rule: BaseRule = "full"
    effective_from: Day
    effective_to: Day | None = None
    sales_account: str | None = ACCOUNT
    purchase_account: str | None = ACCOUNT
    description: str | None = Field(default=None, max_length=2000)

    _code = field_validator("code")(classmethod(lambda cls, v: _upper(v)))

    @model_validator(mode="after")
    def _consistent(self):
        if self.effective_to is not None and self.effective_to < self.effective_from:
            raise ValueError("effective_to is before effective_from")
        if self.kind in ("exempt", "zero_rated", "not_collected") and self.rate != 0:
            raise ValueError(f"a '{self.kind}' tax code has rate 0")
        return self


class TaxCodePatch(BaseModel):
    """What may change on a version: not its rate, base or start (a rate change is a new version)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=1, max_length=200)
    effective_to: Day | None = None
    sales_account: str | None = ACCOUNT
    purchase_account: str | None = ACCOUNT
    description: str | None = Field(default=None, max_length=2000)
    is_active: bool | None = None


class TaxCodeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    code: str
    name: str
    kind: str
    rate: Money
    base_rule: str
    effective_from: date
    effective_to: date | None
    sales_account: str | None
    purchase_account: str | None
    description: str | None
    is_active: bool
    created_at: datetime
    updated_at: datetime


class LineTaxOut(BaseModel):
    base: Money
    other_base: Money
    tax: Money


class TaxComputation(BaseModel):
    """A document's tax under one code (whole rupiah; rule in erp/tax/calc.py)."""

    tax_code_id: uuid.UUID
    code: str
    rate: Money
    base_rule: str
    inclusive: bool
    base: Money
    other_base: Money
    tax: Money
    total: Money
    rounding_difference: Money
    lines: list[LineTaxOut]


def _normalise(fn, value: str | None) -> str | None:
    if value is None or value == "":
        return None
    return fn(value)


class CompanyTaxIn(BaseModel):
    """The company's tax identity (PATCH: only the fields sent change; null clears)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    legal_name: str | None = Field(default=None, min_length=1, max_length=200)
    npwp: str | None = Field(default=None, max_length=40)
    nitku: str | None = Field(default=None, max_length=40)
    is_pkp: bool | None = None
    pkp_since: Day | None = None
    address: str | None = Field(default=None, max_length=2000)
    tax_office: str | None = Field(default=None, max_length=100)

    _npwp = field_validator("npwp")(classmethod(lambda cls, v: _normalise(identifiers.npwp, v)))
    _nitku = field_validator("nitku")(classmethod(lambda cls, v: _normalise(identifiers.nitku, v)))


class CompanyTaxOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    legal_name: str
    npwp: str | None
    nitku: str | None
    is_pkp: bool
    pkp_since: date | None
    address: str | None
    tax_office: str | None
    updated_at: datetime | None
