"""App factory. One process serves three apps, chosen per request by Host:

- the tenant app (``<sub>.<root>`` or a custom domain): the ERP, bound to that tenant's database;
- the admin app (``<admin>.<root>``): operators' console and API, main database only;
- the platform app (the bare root, ``www``, IP literals): landing page and health probes.
"""

from __future__ import annotations

import gc
from contextlib import asynccontextmanager

from fastapi import FastAPI

from polyflow import __version__
from polyflow.config import Settings
from polyflow.kit import handlers
from polyflow.kit.limits import BodyLimitMiddleware
from polyflow.kit.logs import AccessLogMiddleware, configure_logging
from polyflow.kit.request_id import RequestIdMiddleware
from polyflow.kit.web import SecurityHeadersMiddleware
from polyflow.platform import health, observability
from polyflow.platform.runtime import Platform
from polyflow.platform.tenancy.middleware import TenancyMiddleware
from polyflow.web import add_favicon, static_files
from polyflow.web.errors import HtmlErrorsMiddleware
from polyflow.web.i18n import use_lang


def _tenant_app(platform: Platform) -> FastAPI:
    from polyflow.erp.dashboard import pages as dashboard_pages
    from polyflow.erp import tenant_info
    from polyflow.erp.accounting import endpoints as accounting
    from polyflow.erp.accounting import pages as accounting_pages
    from polyflow.erp.accounting import service as accounting_service
    from polyflow.erp.catalog import endpoints as catalog
    from polyflow.erp.catalog import pages as catalog_pages
    from polyflow.erp.identity import audit
    from polyflow.erp.identity import endpoints as identity
    from polyflow.erp.identity import pages as identity_pages
    from polyflow.erp.inventory import endpoints as inventory
    from polyflow.erp.inventory import pages as inventory_pages
    from polyflow.erp.partners import endpoints as partners
    from polyflow.erp.payments import endpoints as payments
    from polyflow.erp.production.floor import endpoints as production_floor
    from polyflow.erp.planning import endpoints as planning
    from polyflow.erp.production import report_endpoints as production_reports
    from polyflow.erp.production.lots import endpoints as production_lots
    from polyflow.erp.production.orders import endpoints as production_orders
    from polyflow.erp.stockcount import endpoints as stockcount
    from polyflow.erp.purchasing import endpoints as purchasing
    from polyflow.erp.purchasing import service as purchasing_service
    from polyflow.erp.sales import endpoints as sales
    from polyflow.erp.tax import endpoints as tax
    from polyflow.erp.toll import endpoints as toll

    audit.install()
    accounting_service.configure_posting(platform.settings)  # the posting window (POLYFLOW_POSTING_*)
    purchasing_service.configure(platform.settings)  # over-receipt tolerance (POLYFLOW_RECEIPT_TOLERANCE_PERCENT)
    app = FastAPI(title="Polyflow ERP", version=__version__, docs_url=None, redoc_url=None)
    app.state.platform = platform
    handlers.install(app)
    app.mount("/static", static_files(), name="static")
    app.include_router(tenant_info.router)
    app.include_router(identity.router)
    app.include_router(identity.users)
    app.include_router(identity.audit_router)
    app.include_router(catalog.router)
    app.include_router(inventory.router)
    app.include_router(accounting.router)
    app.include_router(partners.router)
    app.include_router(tax.router)
    app.include_router(sales.router)
    app.include_router(purchasing.router)
    app.include_router(toll.router)
    app.include_router(payments.receipts)
    app.include_router(payments.supplier_payments)
    app.include_router(payments.router)
    app.include_router(production_floor.router)
    app.include_router(planning.router)
    app.include_router(production_reports.router)
    app.include_router(production_lots.router)
    app.include_router(production_orders.router)
    app.include_router(stockcount.router)
    # Server-rendered pages (HTML; same services and permissions as the API above).
    app.include_router(dashboard_pages.router)
    app.include_router(identity_pages.router)
    app.include_router(catalog_pages.router)
    app.include_router(inventory_pages.router)
    app.include_router(accounting_pages.router)
    from polyflow.erp.partners import pages as partners_pages
    from polyflow.erp.payments import pages as payments_pages
    from polyflow.erp.planning import pages as planning_pages
    from polyflow.erp.production import pages as production_pages
    from polyflow.erp.purchasing import pages as purchasing_pages
    from polyflow.erp.sales import pages as sales_pages
    from polyflow.erp.stockcount import pages as stockcount_pages
    from polyflow.erp.tax import pages as tax_pages
    from polyflow.erp.toll import pages as toll_pages

    for module in (partners_pages, purchasing_pages, sales_pages, payments_pages, tax_pages, production_pages,
                   planning_pages, stockcount_pages, toll_pages):
        app.include_router(module.router)
    add_favicon(app)
    return app


def _admin_app(platform: Platform) -> FastAPI:
    from polyflow.platform.admin import auth_endpoints as admin_auth
    from polyflow.platform.admin import billing as admin_billing
    from polyflow.platform.admin import endpoints as admin
    from polyflow.platform.admin import lifecycle as admin_lifecycle
    from polyflow.platform.admin import pages as admin_pages
    from polyflow.platform.admin import tenants as admin_tenants

    from polyflow.platform.admin import guard as admin_guard

    # No public docs: the schema is served to signed-in super-admins only (admin/guard.py).
    app = FastAPI(title="Polyflow admin", version=__version__, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.platform = platform
    handlers.install(app)

    @app.middleware("http")
    async def english(request, call_next):  # the operators' console is in English (numbers "1,250.5")
        use_lang("en")
        return await call_next(request)

    admin_guard.install(app, platform.settings)  # IP allow-list before anything else; private /openapi.json
    app.include_router(admin_auth.router)  # first: its GET / (dashboard for browsers) wins over admin.router's
    app.include_router(admin_pages.router)  # the console's tenant pages (cookie sessions only)
    for router in (admin.router, admin_tenants.router, admin_billing.router, admin_lifecycle.router):
        app.include_router(router)
    app.mount("/static", static_files(), name="static")
    add_favicon(app)
    return app


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    platform = Platform(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await platform.start()
        # What start-up built lives as long as the process: keep it out of the collector's full passes. With
        # ~250k objects one pass took up to 0.5 s (a busy 2-core machine), during which no tenant is served;
        # loading a page of ORM rows (allocation churn) is what sets them off.
        gc.freeze()
        readiness.start()  # /readyz may say ready; SIGTERM now drains first (POLYFLOW_DRAIN_SECONDS)
        try:
            yield
        finally:
            readiness.stop()  # /readyz says 503 from here on
            await platform.stop()

    # The platform app serves only the landing page and probes: no API description to publish.
    app = FastAPI(title="Polyflow platform", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.platform = platform
    app.state.readiness = readiness = health.Readiness(settings)
    handlers.install(app)
    app.include_router(health.router)
    add_favicon(app)
    app.mount("/static", static_files(), name="static")  # the landing page's stylesheet
    tenant_app, admin_app = _tenant_app(platform), _admin_app(platform)
    app.add_middleware(TenancyMiddleware, platform=platform, tenant_app=tenant_app, admin_app=admin_app)
    # Before tenancy, authentication and any parser, on every host: the body's size (routes flagged
    # kit.limits.IMPORT_ROUTE in these apps get the import cap), JSON depth and non-finite numbers.
    app.add_middleware(BodyLimitMiddleware, max_body=settings.max_body_bytes,
                       max_import_body=settings.max_import_body_bytes, max_json_depth=settings.max_json_depth,
                       route_sources=(tenant_app, admin_app, app))
    # Every response (a 413 included) carries X-Request-ID; an error nobody handled is logged here once.
    app.add_middleware(RequestIdMiddleware)
    # Browsers get error pages in HTML (the API keeps JSON): around everything that can refuse a request.
    app.add_middleware(HtmlErrorsMiddleware)
    # One access line per request once the answer is out (kit/logs.py), with the final status and size.
    app.add_middleware(AccessLogMiddleware, trusted_networks=settings.trusted_proxy_networks)
    # Outermost, so that every response (errors from the tenancy middleware included) carries them.
    app.add_middleware(SecurityHeadersMiddleware, trusted_networks=settings.trusted_proxy_networks,
                       production=settings.env == "production")
    # Around everything (every answer counted and timed, refusals included); GET /metrics; the sampler task.
    observability.install(app, platform, tenant_app=tenant_app, admin_app=admin_app)
    return app


def app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory polyflow.main:app_from_env` (settings from the environment)."""
    settings = Settings()
    # JSON lines in production (POLYFLOW_LOG_FORMAT/LOG_LEVEL); replaces uvicorn's handlers, switches off its
    # access log (ours names the tenant).
    configure_logging(settings)
    return create_app(settings)
