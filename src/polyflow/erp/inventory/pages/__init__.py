"""Inventory pages: stock levels, the movement history, the receive / issue / transfer / adjust forms,
valuation as of a date, low stock and locations. Reading needs inventory.read, posting inventory.write;
every page calls the same services as the JSON API (erp/inventory/service.py)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from polyflow.erp.inventory.pages import forms, lists

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
router.include_router(lists.router)
router.include_router(forms.router)
