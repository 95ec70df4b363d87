"""Production pages (server-rendered; the same services and permission checks as the JSON API): orders and the
SPK ticket, the shop-floor tablet screen, runs, machines and downtime, BOMs and the floor KPIs."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from polyflow.erp.production.pages import floor, kpi, lots, orders, runs, setup

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
for _module in (orders, floor, runs, setup, kpi, lots):
    router.include_router(_module.router)

__all__ = ["router"]
