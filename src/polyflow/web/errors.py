"""Error answers a person can read: a browser asking for a page that fails (403, 404, 409, 429, 503 …) gets an
HTML page in the workspace's look, with the message and the request id, instead of the JSON the API answers.

A pure ASGI middleware, outermost but for the security headers, so it also covers what the tenancy middleware
refuses (no such tenant, suspended) and what Starlette answers itself (no such route, wrong method). Only
requests that ask for HTML (``Accept: text/html`` as browsers send it) to a path outside ``/api/`` and
``/static/`` are changed; API clients and scripts keep their JSON.
"""

from __future__ import annotations

import json

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from polyflow.kit.request_id import current_request_id
from polyflow.web.i18n import _

MAX_ERROR_BODY = 64 * 1024
TITLES = {
    400: "The request is not valid", 401: "Please sign in", 403: "Not allowed", 404: "Page not found",
    405: "Not possible here", 409: "This cannot be done now", 413: "Too large", 422: "Please check the input",
    429: "Too many requests", 500: "Something went wrong", 502: "Temporarily unavailable",
    503: "Temporarily unavailable", 504: "Temporarily unavailable",
}
# What a person is told when the JSON carried no sentence (e.g. Starlette's own 404 "Not Found").
DEFAULT_MESSAGES = {
    404: "There is no page at this address. Check the link, or go back to the start page.",
    405: "This address does not accept that kind of request.",
    500: "An unexpected error happened on our side. It was logged; please try again.",
}


def wants_html(scope: Scope) -> bool:
    path = scope.get("path", "")
    if path.startswith(("/api/", "/static/")) or path in ("/healthz", "/readyz", "/livez", "/metrics"):
        return False
    for key, value in scope.get("headers", ()):
        if key == b"accept":
            return b"text/html" in value
    return False


def _message(status: int, body: bytes) -> str:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        data = {}
    detail = data.get("detail") if isinstance(data, dict) else None
    if isinstance(detail, list):  # a validation error: "field: what is wrong" per problem
        parts = []
        for err in detail[:5]:
            if isinstance(err, dict):
                loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
                parts.append(f"{loc}: {err.get('msg', '')}" if loc else str(err.get("msg", "")))
        detail = "; ".join(parts)
    if not isinstance(detail, str) or not detail or detail in ("Not Found", "Method Not Allowed"):
        english = DEFAULT_MESSAGES.get(status)
        return _(english) if english else _(TITLES.get(status, "Something went wrong"))
    return detail


class HtmlErrorsMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not wants_html(scope):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []
        size = 0
        sent = False

        async def capture(message: Message) -> None:
            nonlocal start, size, sent
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if message["status"] >= 400 and headers.get("content-type", "").startswith("application/json"):
                    start = message  # hold it: the body decides what we send
                    return
                await send(message)
                return
            if start is None:
                await send(message)
                return
            if sent:
                return  # the page went out already; the rest of a long JSON body is dropped
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > MAX_ERROR_BODY or not message.get("more_body", False):
                sent = True
                await self._send_page(scope, start, b"".join(chunks), send)

        await self.app(scope, receive, capture)

    async def _send_page(self, scope: Scope, start: Message, body: bytes, send: Send) -> None:
        from polyflow.web import templates  # late: the template environment imports this package

        status = start["status"]
        html = templates.get_template("error.html").render(
            status=status, title=_(TITLES.get(status, "Something went wrong")), message=_message(status, body),
            request_id=current_request_id(), lang=_current_lang(), signed_in=_has_session(scope))
        data = html.encode("utf-8")
        headers = MutableHeaders(scope=start)
        headers["content-type"] = "text/html; charset=utf-8"
        headers["content-length"] = str(len(data))
        await send(start)
        await send({"type": "http.response.body", "body": data, "more_body": False})


def _current_lang() -> str:
    from polyflow.web.i18n import current_lang

    return current_lang()


def _has_session(scope: Scope) -> bool:
    for key, value in scope.get("headers", ()):
        if key == b"cookie" and b"pf_session" in value:
            return True
    return False
