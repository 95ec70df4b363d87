"""ASGI middleware counting and timing every HTTP request, labelled by app, tenant and route template."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from polyflow.kit import logs
from polyflow.platform.observability.metrics import METHODS, OTHER, Metrics

UNMATCHED = "unmatched"


def route_template(scope: Scope) -> str:
    """The matched route's path format ("/api/products/{product_id}"), never the raw path: raw paths carry ids
    and would make one series per record. The same template the access log names (kit.logs); no route:
    "unmatched"."""
    return logs.route_template(scope) or UNMATCHED


class MetricsMiddleware:
    """Outermost: sees every answer, refusals of the tenancy middleware and 413s included.

    The tenant comes from the routing record the tenancy middleware put into ``scope["state"]["resolved_tenant"]``
    (never from a client header); the route from ``scope["route"]`` that the router of the app that answered sets (the
    tenant, admin and platform apps share this scope dict, so it is visible here after the call).
    """

    def __init__(self, app: ASGIApp, *, metrics: Metrics, apps: dict[int, str] | None = None):
        self.app = app
        self.metrics = metrics
        # id(app object) -> label ("tenant", "admin"); anything else is "platform".
        self.apps = apps or {}
        # Label sets -> metric children: .labels() validates and locks on every call; the set of keys is bounded
        # by the labels themselves (tenants folded, route templates, methods, status codes).
        self._children: dict[tuple, tuple] = {}
        self._in_progress = metrics.in_progress.labels("all")

    def _app_label(self, scope: Scope) -> str:
        if (scope.get("state") or {}).get("resolved_tenant") is not None:
            return "tenant"
        return self.apps.get(id(scope.get("app")), "platform")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # an exception that escapes everything (the server answers 500)
        started = time.perf_counter()
        in_progress = self._in_progress
        in_progress.inc()

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            elapsed = time.perf_counter() - started
            in_progress.dec()
            state = scope.get("state") or {}
            # Set by the tenancy middleware once the Host resolved, before any refusal (suspended, migrating).
            route = state.get("resolved_tenant")
            tenant = self.metrics.tenants.label(route.subdomain if route is not None else None)
            app = self._app_label(scope)
            template = route_template(scope)
            method = scope.get("method", "GET")
            method = method if method in METHODS else OTHER
            key = (app, tenant, template, method, status)
            children = self._children.get(key)
            if children is None:
                m = self.metrics
                children = self._children[key] = (
                    m.requests.labels(app, tenant, template, method, str(status)),
                    m.latency.labels(app, template, method),
                    m.tenant_latency.labels(tenant) if route is not None else None)
            children[0].inc()
            children[1].observe(elapsed)
            if children[2] is not None:
                children[2].observe(elapsed)
