"""What stands in front of the admin host before any route runs: the optional IP allow-list, and the
API description, which only a signed-in super-admin may read.

- ``POLYFLOW_ADMIN_ALLOWED_IPS`` (comma-separated IPs/CIDRs; empty: any address): any other client gets
  a bare 404, before routing, cookies or the database are touched, as if there were no admin host. The
  client address is the trusted-proxy one (kit/web.client_ip): X-Forwarded-For counts only from
  POLYFLOW_TRUSTED_PROXIES, so a client cannot claim an allowed address.
- ``GET /openapi.json``: the admin API's schema for a super-admin's session (401 otherwise; the
  operator token is for automation, not for browsing). No ``/docs`` or ``/redoc`` page is served: those
  load Swagger UI / ReDoc from a CDN, which the admin host's CSP (and its operators) should not trust.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from polyflow.kit.errors import Forbidden
from polyflow.kit.web import client_ip, client_is_trusted
from polyflow.platform.admin.auth import Admin

router = APIRouter(include_in_schema=False)


@router.get("/openapi.json")
async def openapi_schema(request: Request, principal: Admin):
    """The admin API's OpenAPI schema, for signed-in super-admins only."""
    if principal.session is None:
        raise Forbidden("the API description is for signed-in super-admins, not for the operator token")
    return JSONResponse(request.app.openapi())


class AllowListMiddleware:
    """404 for every client outside POLYFLOW_ADMIN_ALLOWED_IPS (when set), before anything else runs."""

    def __init__(self, app: ASGIApp, *, settings):
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        allowed = self.settings.admin_allowed_networks
        if allowed and scope["type"] in ("http", "websocket"):
            ip = client_ip(scope, self.settings.trusted_proxy_networks)
            if not client_is_trusted(ip, allowed):
                if scope["type"] == "http":
                    await JSONResponse({"detail": "Not Found"}, status_code=404)(scope, receive, send)
                else:
                    await send({"type": "websocket.close", "code": 1008})
                return
        await self.app(scope, receive, send)


def install(app: FastAPI, settings) -> None:
    """Guard the admin app (built with docs_url/redoc_url/openapi_url=None): allow-list and private schema."""
    app.include_router(router)
    app.add_middleware(AllowListMiddleware, settings=settings)
