from __future__ import annotations

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from polyflow.kit.db import TenantBase


class DocumentCounter(TenantBase):
    """Last number used per document type and year. Incremented with an upsert in the transaction of the
    document, so the row stays locked until commit: numbers are unique and a rollback leaves no gap."""

    __tablename__ = "document_counters"

    doc_type: Mapped[str] = mapped_column(String(8), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer)
