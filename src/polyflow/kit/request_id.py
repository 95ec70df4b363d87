"""One id per request: in the X-Request-ID response header, in error bodies and in the log lines about
the request, so a user's "request id …" leads an operator to the log entry with the details.

`RequestIdMiddleware` is also the last resort for errors nobody handled: it logs the trace once, with
the id, and makes sure the client gets a short JSON 500 (never a trace).
"""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar

from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

HEADER = "X-Request-ID"
# A client's (or proxy's) id is kept only when it is short and cannot smuggle anything into a log line
# or a header.
_SAFE = re.compile(r"[A-Za-z0-9-]{1,64}")

_current: ContextVar[str | None] = ContextVar("polyflow_request_id", default=None)


def current_request_id() -> str:
    """The id of the request being served ("-" outside a request)."""
    return _current.get() or "-"


def internal_error_body(request_id: str) -> dict[str, str]:
    return {"detail": f"internal error (request id {request_id})", "request_id": request_id}


class RequestIdMiddleware:
    """Gives every HTTP request an id (the client's X-Request-ID if safe, else a new one) and every
    response the X-Request-ID header; turns an exception that escaped everything into a logged 500."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = None
        for key, value in scope["headers"]:
            if key == b"x-request-id":
                given = value.decode("latin-1")
                break
        request_id = given if given is not None and _SAFE.fullmatch(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        token = _current.set(request_id)
        started = False
        status = 0
        held: Message | None = None

        async def send_with_id(message: Message) -> None:
            nonlocal started, status, held
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                MutableHeaders(scope=message)[HEADER] = request_id
            elif status >= 500 and not message.get("more_body", False):
                # The apps' 500 handler answers first and re-raises after: the last part of a 5xx answer
                # waits until the app has returned or raised, so the trace is in the log before the client
                # has the whole answer (an operator, or a test, who reads the log right after finds it).
                held = message
                return
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Logged here and only here: the apps' own 500 handler answers without logging, and nothing is
            # re-raised to the server (which would log the same trace again, without the id).
            log.exception("unhandled error in %s %s (request id %s)", scope.get("method"), scope.get("path"),
                          request_id)
            if not started:
                await JSONResponse(internal_error_body(request_id), status_code=500)(scope, receive, send_with_id)
        finally:
            try:
                if held is not None:
                    await send(held)  # still inside the id's context: an HTML error page outside shows it
            finally:
                _current.reset(token)
