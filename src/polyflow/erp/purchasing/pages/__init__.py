"""Purchasing pages (server-rendered, Bahasa Indonesia and English): purchase requests, purchase orders with
their PDF, goods receipts, supplier invoices and purchase returns. They call the same services with the same
permissions as the JSON API: reading needs purchasing.read, anything that changes a document purchasing.write."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from polyflow.erp.purchasing.pages import invoices, orders, receipts, requests, returns

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
for _module in (requests, orders, receipts, invoices, returns):
    router.include_router(_module.router)

__all__ = ["router"]
