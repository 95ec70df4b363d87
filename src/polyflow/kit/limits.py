"""Limits checked before any work: the request body's size (while it streams in), the JSON's nesting
depth and its numbers (no NaN/Infinity/overflow), and the value types that keep user input inside what
the code can handle (dates it can do arithmetic on, bounded free-form attributes).

`BodyLimitMiddleware` is pure ASGI and sits in front of tenancy resolution, authentication and every
parser: a hostile client costs at most one capped buffer and a few C-speed scans, never a decode, a
database round trip or a 422 that echoes megabytes back.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator
from starlette.responses import JSONResponse
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# -- routes that take imports/uploads ---------------------------------------------------------------------
# A route opts into the larger body cap explicitly: `@router.post(..., openapi_extra=IMPORT_ROUTE)`. The
# flag shows in the OpenAPI document too, so a reader sees which routes accept big bodies.
IMPORT_ROUTE_FLAG = "x-polyflow-import"
IMPORT_ROUTE: dict[str, Any] = {IMPORT_ROUTE_FLAG: True}


def _route_contexts(app) -> Iterator[Any]:
    from fastapi import routing

    # FastAPI >= 0.16x keeps included routers unflattened; iter_route_contexts yields effective routes.
    iterate = getattr(routing, "iter_route_contexts", None)
    yield from (iterate(app.routes) if iterate is not None else app.routes)


def import_route_patterns(*apps) -> list[re.Pattern[str]]:
    """Path regexes of the routes (of these FastAPI apps) flagged with IMPORT_ROUTE."""
    patterns = []
    for app in apps:
        for ctx in _route_contexts(app):
            original = getattr(ctx, "original_route", ctx)
            extra = getattr(original, "openapi_extra", None) or {}
            path = getattr(ctx, "path", None)
            if extra.get(IMPORT_ROUTE_FLAG) and path:
                patterns.append(compile_path(path)[0])
    return patterns


# -- JSON screening ---------------------------------------------------------------------------------------
# Everything below runs in C (bytes.replace/split/translate/find, re.search); Python loops only over a
# handful of passes. Measured on 1 MiB bodies (this 2-core machine): 0.3 ms for one long string, 5-12 ms for
# typical JSON (json.loads of the same: 1-13 ms), 85 ms at worst (16k arrays 32 deep each, which json.loads
# itself takes 120 ms to decode).
_NON_FINITE = re.compile(rb"NaN|Infinity")
# A number can only overflow a float with a positive exponent of 3+ digits or 100+ digits in a row
# (anything else is below 1e200): cheap tests first, the exact check only when one of them hits.
_BIG_EXPONENT = re.compile(rb"[eE]\+?0*[1-9][0-9]{2}")
_DIGITS_TO_ZERO = bytes.maketrans(b"0123456789", b"0" * 10)
_HUNDRED_DIGITS = b"0" * 100
# Keep what numbers are made of; everything else becomes a separator.
_NUMBER_BYTES = b"0123456789.eE+-"
_NUMBERS_ONLY = bytes(b if b in _NUMBER_BYTES else 32 for b in range(256))
_SQUARE = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")


def _without_strings(body: bytes) -> bytes:
    """The JSON text with every string literal cut out (so brackets or "NaN" inside strings count for nothing).

    Escaped backslashes and escaped quotes are dropped first; then strings are exactly what lies between
    two quotes.
    """
    if b"\\" in body:
        body = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    return b"".join(body.split(b'"')[0::2])


def _overflows(skeleton: bytes) -> bool:
    """Whether a number literal in this string-free JSON text is too large for a float (1e999)."""
    if not _BIG_EXPONENT.search(skeleton) and _HUNDRED_DIGITS not in skeleton.translate(_DIGITS_TO_ZERO):
        return False
    words = skeleton.replace(b"true", b" ").replace(b"false", b" ").replace(b"null", b" ")
    try:
        return any(map(math.isinf, map(float, words.translate(_NUMBERS_ONLY).split())))
    except ValueError:
        return False  # not JSON at all: the route's decoder says so


def json_problem(body: bytes, max_depth: int) -> tuple[str, str] | None:
    """(error type, message) if this JSON text nests deeper than `max_depth` or holds a non-finite
    number (NaN, Infinity, or a literal too large for a float, such as 1e999); None otherwise.

    Malformed JSON that is neither passes: the route's decoder reports it as usual.
    """
    skeleton = _without_strings(body)
    if _NON_FINITE.search(skeleton):
        return "json_non_finite", "numbers must be finite: NaN and Infinity are not accepted"
    if _overflows(skeleton):
        return "json_non_finite", "a number is too large (it would overflow to infinity)"
    if _deeper_than(skeleton.translate(_SQUARE, _NOT_BRACKET), max_depth):
        return "json_too_deep", f"JSON must not nest deeper than {max_depth} levels"
    return None


def _deeper_than(brackets: bytes, limit: int) -> bool:
    """Whether a string of only '[' and ']' nests deeper than `limit`.

    Each pass removes every innermost "[]" pair, i.e. exactly one level of a well-formed structure, so
    anything left after `limit` passes is deeper than `limit`. A run of openers longer than the levels
    still allowed settles it early (a hostile 1 MiB of "[" costs one search, not `limit` passes).
    """
    removed = 0
    while brackets:
        if b"[" * (limit + 1 - removed) in brackets:
            return True
        shorter = brackets.replace(b"[]", b"")
        if len(shorter) == len(brackets):
            return False  # nothing pairs up ("]]][["): malformed, and not deeper than allowed
        brackets = shorter
        removed += 1
    return False


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


# -- the middleware ---------------------------------------------------------------------------------------
class BodyLimitMiddleware:
    """Refuses request bodies over the cap with 413 (by Content-Length at once, or by counting while a
    chunked body streams in: answered as soon as the cap is crossed, nothing beyond it is kept), and JSON
    bodies that nest too deep or carry non-finite numbers with 422. Routes flagged IMPORT_ROUTE get
    `max_import_body`.

    A body within the cap is read whole (at most the cap) and replayed to the app in one message; the app
    behind never sees a refused request.
    """

    def __init__(self, app: ASGIApp, *, max_body: int, max_import_body: int, max_json_depth: int,
                 route_sources: Iterable = ()):
        self.app = app
        self.max_body = max_body
        self.max_import_body = max(max_import_body, max_body)
        self.max_json_depth = max_json_depth
        # Read once, when the middleware stack is built (at start-up): routes are all declared by then.
        self.import_paths = tuple(import_route_patterns(*route_sources))

    def cap_for(self, path: str) -> int:
        if any(pattern.match(path) for pattern in self.import_paths):
            return self.max_import_body
        return self.max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = chunked = None
        content_type = ""
        expects_continue = False
        for key, value in scope["headers"]:
            if key == b"content-length":
                length = value
            elif key == b"transfer-encoding":
                chunked = value
            elif key == b"content-type":
                content_type = value.decode("latin-1")
            elif key == b"expect":
                expects_continue = value.strip().lower() == b"100-continue"
        if length is None and chunked is None:
            await self.app(scope, receive, send)  # HTTP/1.1: no body at all
            return
        cap = self.cap_for(scope["path"])
        if length is not None and length.strip().isdigit() and int(length) > cap:
            # A client waiting for "100 Continue" has sent no body: nothing to drain (and reading would make
            # the server send the 100 after our answer).
            await _too_large(scope, receive, send, cap, body_pending=not expects_continue)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left: there is no one to answer
            part = message.get("body", b"")
            size += len(part)
            if size > cap:
                await _too_large(scope, receive, send, cap, body_pending=message.get("more_body", False))
                return
            chunks.append(part)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body and _is_json(content_type):
            problem = json_problem(body, self.max_json_depth)
            if problem is not None:
                kind, message_text = problem
                response = JSONResponse({"detail": [{"type": kind, "loc": ["body"], "msg": message_text}]},
                                        status_code=422)
                await response(scope, receive, send)
                return
        await self.app(scope, _replay(body, receive), send)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: wait for the disconnect as usual

    return replay


# After a 413 the rest of the body is read and thrown away (never kept) for a short while, so a client that
# sends its whole body before reading (most do) gets the answer instead of a reset connection; then the
# connection is closed. This is nginx's "lingering close"; the bounds keep it from being a way to hold us.
DRAIN_SECONDS = 2.0
DRAIN_BYTES = 16 * 1024 * 1024


async def _too_large(scope: Scope, receive: Receive, send: Send, cap: int, *, body_pending: bool) -> None:
    body = json.dumps({"detail": f"the request body is too large (at most {cap} bytes)"}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    # The answer is complete on the wire (Content-Length), but the ASGI response stays open while draining:
    # the server stops delivering the body once a response is finished.
    await send({"type": "http.response.body", "body": body, "more_body": True})
    if body_pending:
        await _drain(receive, max(cap, DRAIN_BYTES))
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _drain(receive: Receive, limit: int) -> None:
    drained = 0
    try:
        async with asyncio.timeout(DRAIN_SECONDS):
            while drained <= limit:
                message = await receive()
                if message["type"] != "http.request" or not message.get("more_body", False):
                    return
                drained += len(message.get("body", b""))
    except TimeoutError:
        return


# -- value types ------------------------------------------------------------------------------------------
# Dates the code can do arithmetic on (a month later, a year back) without overflowing `date`. The business
# window for posting (what a ledger accepts) is narrower and checked by the ledger services.
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2199, 12, 31)


def _day_in_range(value: date) -> date:
    if not EARLIEST_DAY <= value <= LATEST_DAY:
        raise ValueError(f"dates must lie between {EARLIEST_DAY.isoformat()} and {LATEST_DAY.isoformat()}")
    return value


Day = Annotated[date, AfterValidator(_day_in_range)]
"""A date between 1900-01-01 and 2199-12-31 (in a body or a query): anything else is a 422."""

# Free-form attributes (a product's "material", "mfi", ...): small and shallow.
MAX_ATTRIBUTES_BYTES = 16 * 1024
MAX_ATTRIBUTES_DEPTH = 8


def _bounded_attributes(value: dict[str, Any]) -> dict[str, Any]:
    try:
        text = json.dumps(value, allow_nan=False, ensure_ascii=False, separators=(",", ":"), default=str)
    except RecursionError:
        raise ValueError(f"attributes must not nest deeper than {MAX_ATTRIBUTES_DEPTH} levels") from None
    except ValueError:
        raise ValueError("attributes must hold finite numbers (no NaN or Infinity)") from None
    if len(text.encode()) > MAX_ATTRIBUTES_BYTES:
        raise ValueError(f"attributes must stay under {MAX_ATTRIBUTES_BYTES} bytes as JSON")
    # Iterative (not recursive): deep input must not be able to exhaust the stack here either.
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_ATTRIBUTES_DEPTH:
            raise ValueError(f"attributes must not nest deeper than {MAX_ATTRIBUTES_DEPTH} levels")
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return value


Attributes = Annotated[dict[str, Any], AfterValidator(_bounded_attributes)]
"""A JSON object of at most MAX_ATTRIBUTES_BYTES, nested at most MAX_ATTRIBUTES_DEPTH levels, finite numbers."""
