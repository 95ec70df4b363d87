from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Money = Decimal
AccountType = Literal["asset", "liability", "equity", "revenue", "expense"]


class AccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = Field(min_length=1, max_length=20, pattern=r"^[0-9A-Z.-]+$")
    name: str = Field(min_length=1, max_length=200)
    type: AccountType


class AccountPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=1, max_length=200)
    is_active: bool | None = None


class AccountOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    type: str
    is_active: bool


class LineIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    account: str = Field(min_length=1, max_length=20)
    debit: Decimal = Field(default=Decimal(0), ge=0, max_digits=18, decimal_places=2)
    credit: Decimal = Field(default=Decimal(0), ge=0, max_digits=18, decimal_places=2)
    memo: str | None = Field(default=None, max_length=200)


class JournalIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    entry_date: date
    description: str = Field(min_length=1, max_length=500)
    reference: str | None = Field(default=None, max_length=100)
    lines: list[LineIn] = Field(min_length=2, max_length=500)


class LineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    account_code: str
    debit: Decimal
    credit: Decimal
    memo: str | None


class JournalOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    number: str
    doc_type: str
    entry_date: date
    description: str
    reference: str | None
    source: str
    created_at: datetime
    lines: list[LineOut]


class PeriodOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    year: int
    month: int
    is_locked: bool
    locked_at: datetime | None


class SettingsOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    company_name: str
    npwp: str | None
    address: str | None
    phone: str | None
    email: str | None
    currency: str
    ppn_rate: Decimal


class SettingsPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    company_name: str | None = Field(default=None, max_length=200)
    npwp: str | None = Field(default=None, max_length=32)
    address: str | None = Field(default=None, max_length=2000)
    phone: str | None = Field(default=None, max_length=50)
    email: str | None = Field(default=None, max_length=254)
    ppn_rate: Decimal | None = Field(default=None, ge=0, le=100, max_digits=5, decimal_places=2)

    @field_validator("company_name")
    @classmethod
    def _not_null(cls, v):
        if v is None:
            raise ValueError("company_name cannot be null")
        return v


class TrialBalanceRow(BaseModel):
    code: str
    name: str
    type: str
    debit: Decimal
    credit: Decimal
    balance: Decimal  # debit - credit


class TrialBalance(BaseModel):
    date_from: date | None
    date_to: date
    rows: list[TrialBalanceRow]
    total_debit: Decimal
    total_credit: Decimal


class LedgerLine(BaseModel):
    entry_id: uuid.UUID
    number: str
    entry_date: date
    description: str
    memo: str | None
    debit: Decimal
    credit: Decimal
    balance: Decimal  # running, on the account's normal side


class GeneralLedger(BaseModel):
    account: AccountOut
    date_from: date | None
    date_to: date
    opening_balance: Decimal
    lines: list[LedgerLine]
    closing_balance: Decimal


class StatementRow(BaseModel):
    code: str
    name: str
    amount: Decimal


class ProfitAndLoss(BaseModel):
    date_from: date
    date_to: date
    revenue: list[StatementRow]
    expenses: list[StatementRow]
    total_revenue: Decimal
    total_expenses: Decimal
    net_profit: Decimal


class BalanceSheet(BaseModel):
    as_of: date
    assets: list[StatementRow]
    liabilities: list[StatementRow]
    equity: list[StatementRow]
    current_earnings: Decimal
    total_assets: Decimal
    total_liabilities: Decimal
    total_equity: Decimal  # includes current earnings
