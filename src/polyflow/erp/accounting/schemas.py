from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from polyflow.kit.limits import Day
from polyflow.kit.money import Amount, AmountOut

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
    debit: Amount = Field(default=Decimal(0), ge=0)
    credit: Amount = Field(default=Decimal(0), ge=0)
    memo: str | None = Field(default=None, max_length=200)


class JournalIn(BaseModel):
    """A manual journal: posted at once (default), or saved as a draft to post later."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    entry_date: Day
    description: str = Field(min_length=1, max_length=500)
    reference: str | None = Field(default=None, max_length=100)
    lines: list[LineIn] = Field(min_length=2, max_length=500)
    status: Literal["draft", "posted"] = "posted"


class ReverseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entry_date: Day | None = Field(default=None, description="Date of the reversing entry (today by default)")


class LockDateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    books_closed_through: Day | None = Field(description="Nothing may be posted on or before this date; null "
                                                          "reopens everything (owner only)")


class LockDateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    books_closed_through: date | None


class LineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    account_code: str
    debit: AmountOut
    credit: AmountOut
    memo: str | None


class JournalOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, populate_by_name=True)

    id: uuid.UUID
    number: str  # a draft's is provisional (DRAFT-...) until it is posted
    doc_type: str
    status: str
    entry_date: date
    description: str
    reference: str | None
    source: str
    created_at: datetime
    reversal_of_id: uuid.UUID | None = None
    reversed_by_id: uuid.UUID | None = None
    lines: list[LineOut] = Field(validation_alias="shown_lines")


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
    books_closed_through: date | None = None
    time_zone: str = "Asia/Jakarta"
    language: str = "id"


class SettingsPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    company_name: str | None = Field(default=None, max_length=200)
    npwp: str | None = Field(default=None, max_length=32)
    address: str | None = Field(default=None, max_length=2000)
    phone: str | None = Field(default=None, max_length=50)
    email: str | None = Field(default=None, max_length=254)
    ppn_rate: Decimal | None = Field(default=None, ge=0, le=100, max_digits=5, decimal_places=2)
    time_zone: str | None = Field(default=None, max_length=64, description="IANA name, e.g. Asia/Makassar")
    language: Literal["id", "en"] | None = Field(default=None, description="pages before sign-in, new users")

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, v):
        from zoneinfo import ZoneInfo

        if v is None:
            raise ValueError("time_zone cannot be null")
        try:
            ZoneInfo(v)
        except Exception:  # ZoneInfoNotFoundError, or a malformed key
            raise ValueError(f"unknown time zone '{v}' (use an IANA name such as Asia/Jakarta)") from None
        return v

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
    debit: AmountOut
    credit: AmountOut
    balance: AmountOut  # debit - credit


class TrialBalance(BaseModel):
    date_from: date | None
    date_to: date
    rows: list[TrialBalanceRow]
    total_debit: AmountOut
    total_credit: AmountOut


class LedgerLine(BaseModel):
    entry_id: uuid.UUID
    number: str
    entry_date: date
    description: str
    memo: str | None
    debit: AmountOut
    credit: AmountOut
    balance: AmountOut  # running, on the account's normal side


class GeneralLedger(BaseModel):
    account: AccountOut
    date_from: date | None
    date_to: date
    opening_balance: AmountOut  # at the start of the period (not of this page)
    lines: list[LedgerLine]  # one page (at most `limit`), in ledger order
    closing_balance: AmountOut  # at the end of the period (not of this page)
    limit: int = 200
    next_cursor: str | None = None  # pass as `cursor` for the next page; None: this page is the last


class StatementRow(BaseModel):
    code: str
    name: str
    amount: AmountOut


class ProfitAndLoss(BaseModel):
    date_from: date
    date_to: date
    revenue: list[StatementRow]
    expenses: list[StatementRow]
    total_revenue: AmountOut
    total_expenses: AmountOut
    net_profit: AmountOut


class BalanceSheet(BaseModel):
    as_of: date
    assets: list[StatementRow]
    liabilities: list[StatementRow]
    equity: list[StatementRow]
    current_earnings: AmountOut  # this calendar year's result, not closed
    prior_years_unclosed_earnings: AmountOut = Decimal("0.00")  # earlier years not yet closed into 3200
    total_assets: AmountOut
    total_liabilities: AmountOut
    total_equity: AmountOut  # includes both earnings lines
