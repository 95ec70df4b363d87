"""Sales pages (server-rendered; the same services and permission checks as the JSON API): sales orders,
deliveries with the surat jalan PDF, invoices with the faktur PDF. Customer receipts live in erp/payments/pages.py."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from polyflow.erp.sales.pages import deliveries, invoices, orders

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
for _module in (orders, deliveries, invoices):
    router.include_router(_module.router)
