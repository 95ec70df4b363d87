from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class ProductIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    sku: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    unit: str = Field(default="KG", min_length=1, max_length=16)
    sell_price: Decimal | None = Field(default=None, ge=0, max_digits=18, decimal_places=2)

    @field_validator("unit")
    @classmethod
    def _upper(cls, v: str) -> str:
        return v.upper()


class ProductPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    unit: str | None = Field(default=None, min_length=1, max_length=16)
    sell_price: Decimal | None = Field(default=None, ge=0, max_digits=18, decimal_places=2)
    is_active: bool | None = None


class ProductOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    sku: str
    name: str
    description: str | None
    unit: str
    sell_price: Decimal | None
    is_active: bool
    created_at: datetime
    updated_at: datetime
