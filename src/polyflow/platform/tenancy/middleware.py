"""ASGI middleware: resolve the Host to a tenant (or the admin/platform app) before any route runs."""

from __future__ import annotations

import logging
import time

from sqlalchemy.exc import SQLAlchemyError
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from polyflow.kit.ratelimit import RateLimiter
from polyflow.kit.web import client_ip
from polyflow.platform import migrate
from polyflow.platform.runtime import Platform
from polyflow.platform.tenancy.cache import RegistryUnavailable
from polyflow.platform.tenancy.context import current_tenant
from polyflow.platform.tenancy.credentials import current_credentials
from polyflow.platform.tenancy.fairshare import FairShare, Refused
from polyflow.platform.tenancy.hosts import HostKind, effective_host
from polyflow.platform.tenancy.route import TenantRoute

log = logging.getLogger(__name__)

# Paths answered on any host (load-balancer probes often use an IP or an internal name).
HOSTLESS_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


async def send_error(scope: Scope, receive: Receive, send: Send, status: int, message: str,
                     headers: dict[str, str] | None = None) -> None:
    """A short error as JSON; for a browser asking for a page, web.errors.HtmlErrorsMiddleware (outside this one)
    turns it into the site's own error page (styled by the stylesheet: an inline style would break the CSP)."""
    response = JSONResponse({"detail": message}, status_code=status, headers=headers)
    await response(scope, receive, send)


def refusal(route: TenantRoute, now: float | None = None) -> tuple[int, str, dict[str, str] | None] | None:
    """Why a resolved tenant is not served now, as (status, message, headers); None if it is."""
    status = route.status
    if status == "active":
        # A fleet migration holds its database: wait rather than queue behind its locks.
        if route.migrating_until is not None and (time.time() if now is None else now) < route.migrating_until:
            return 503, f"The workspace '{route.subdomain}' is being upgraded; try again in a few seconds.", {
                "Retry-After": "5"}
        # Its schema lacks what this code needs (new code deployed before the migration reached it).
        # A revision this code does not know is newer (a rolling deploy): served.
        if migrate.is_behind("tenant", route.schema_revision):
            return 503, f"The workspace '{route.subdomain}' is upgrading to a new version; try again shortly.", {
                "Retry-After": "10"}
        return None
    if status == "suspended":
        return 403, f"The workspace '{route.subdomain}' is suspended. Contact your administrator or Polyflow support.", None
    if status == "provisioning":
        return 503, f"The workspace '{route.subdomain}' is being set up; try again in a few seconds.", {"Retry-After": "5"}
    if status == "archived":
        return 403, f"The workspace '{route.subdomain}' is archived. Contact Polyflow support to restore it.", None
    if status == "failed":
        return 503, f"The workspace '{route.subdomain}' could not be set up; an operator has to finish it.", {"Retry-After": "60"}
    return 404, "No such tenant.", None


class TenancyMiddleware:
    """Dispatches each request by Host: tenant app, admin app or the platform app behind it."""

    def __init__(self, app: ASGIApp, *, platform: Platform, tenant_app: ASGIApp, admin_app: ASGIApp):
        self.app = app
        self.platform = platform
        self.tenant_app = tenant_app
        self.admin_app = admin_app
        migrate.configure(platform.settings)  # extra test revisions, if this process is told to use them
        self.fairshare = FairShare.from_settings(platform.settings)
        # Unknown names per client IP, counted in this process only: no I/O for a request that routes nowhere.
        self.unknown_hosts = RateLimiter(None, platform.settings.redis_namespace)
        self.unknown_per_minute = platform.settings.unknown_host_per_minute

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in HOSTLESS_PATHS:
            await self.app(scope, receive, send)
            return
        if sum(1 for key, _ in scope["headers"] if key == b"host") > 1:
            # RFC 9112: more than one Host is a bad request. Serving it would let two components read
            # different hosts (the router one, a link in a mail another).
            await send_error(scope, receive, send, 400, "Invalid Host header.")
            return
        client = scope.get("client")
        host = effective_host(
            scope["headers"], client[0] if client else None, self.platform.settings.trusted_proxy_networks
        )
        target = self.platform.hosts.classify(host)
        kind = target.kind
        if kind is HostKind.TENANT or kind is HostKind.CUSTOM_DOMAIN:
            key = ("sub:" if kind is HostKind.TENANT else "dom:") + target.name
            throttle, over = None, False
            if self.platform.routes.may_exist(key) is None:
                # The set of names cannot answer (no Redis, or not loaded yet): a client that already asked
                # for too many unknown names gets no lookup of another one. Known names skip this.
                throttle = "unknown-host:" + client_ip(scope, self.platform.settings.trusted_proxy_networks)
                over = (await self.unknown_hosts.peek(throttle)).count >= self.unknown_per_minute
            try:
                route = await self.platform.routes.get(key, load=not over)
            except RegistryUnavailable:
                # The main database is unreachable and this name was not served lately (the cache logs the
                # outage once; a trace per request would drown the log). 503, not 404: it may well exist.
                await send_error(scope, receive, send, 503, "The service is temporarily unavailable; try again shortly.",
                                 {"Retry-After": "5"})
                return
            except (SQLAlchemyError, OSError):
                log.exception("tenant registry unavailable")
                await send_error(scope, receive, send, 503, "The service is temporarily unavailable; try again shortly.",
                                 {"Retry-After": "5"})
                return
            if route is None:
                throttle = throttle or "unknown-host:" + client_ip(scope, self.platform.settings.trusted_proxy_networks)
                window = await self.unknown_hosts.hit(throttle, 60)
                if window.count > self.unknown_per_minute:
                    await send_error(scope, receive, send, 429, "Too many requests for unknown workspaces; "
                                     "slow down.", {"Retry-After": str(window.retry_after)})
                else:
                    await send_error(scope, receive, send, 404, "No such tenant.")
                return
            # Who was asked for, also when refused below (metrics count a suspended or migrating tenant's answers).
            scope.setdefault("state", {})["resolved_tenant"] = route
            refused = refusal(route)
            if refused is not None:
                await send_error(scope, receive, send, *refused)
                return
            try:
                await self.fairshare.acquire(route.id)
            except Refused:
                await send_error(scope, receive, send, 429,
                                 f"The workspace '{route.subdomain}' has too many requests in progress; "
                                 "retry in a moment.", {"Retry-After": "1"})
                return
            state = scope.setdefault("state", {})
            state["tenant"] = route
            state["route_key"] = key
            state["host"] = host  # as the client asked for it (behind a trusted proxy: X-Forwarded-Host)
            token = current_tenant.set(route)
            credentials = current_credentials.set(self.platform.credentials)
            try:
                await self.tenant_app(scope, receive, send)
            finally:
                current_credentials.reset(credentials)
                current_tenant.reset(token)
                self.fairshare.release(route.id)
        elif kind is HostKind.ADMIN:
            scope.setdefault("state", {})["host"] = host
            await self.admin_app(scope, receive, send)
        elif kind is HostKind.PLATFORM:
            await self.app(scope, receive, send)
        elif kind is HostKind.NOT_TENANT:
            await send_error(scope, receive, send, 404, "No such tenant.")
        else:
            await send_error(scope, receive, send, 400, "Invalid Host header.")
