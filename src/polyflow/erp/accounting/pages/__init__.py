"""Accounting pages (server-rendered; same services and permissions as the JSON API): the journal, the chart
of accounts, periods and the lock date, the reports and the company's settings. `router` carries them all."""

from polyflow.erp.accounting.pages import journal, ledger, reports, settings  # noqa: F401  (register routes)
from polyflow.erp.accounting.pages.common import router

__all__ = ["router"]
