"""Exception handlers shared by the apps: user-caused errors become clear 4xx/503, never a stack trace.

Database errors and every 5xx carry the request id (in the body, and in the X-Request-ID header set by
kit.request_id); PostgreSQL's own text goes to the log only. Validation errors keep FastAPI's structure
(type, loc, msg) but echo at most a short excerpt of the input.
"""

from __future__ import annotations

import logging
import math
from decimal import Decimal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from polyflow.kit.errors import PolyflowError
from polyflow.kit.request_id import current_request_id, internal_error_body

log = logging.getLogger(__name__)

# What a 422 may echo of the input: a few errors, short excerpts (a 1 MB field costs nothing to answer).
MAX_ERRORS = 20
EXCERPT = 80


def _with_id(message: str, status_code: int, headers: dict[str, str] | None = None) -> JSONResponse:
    """An error answer carrying the request id, so the user can quote it and an operator find the log."""
    request_id = current_request_id()
    return JSONResponse({"detail": f"{message} (request id {request_id})", "request_id": request_id},
                        status_code=status_code, headers=headers)


async def _polyflow_error(request: Request, exc: PolyflowError) -> JSONResponse:
    if exc.status_code >= 500:
        return JSONResponse({"detail": exc.message, "request_id": current_request_id()}, status_code=exc.status_code,
                            headers=exc.headers)
    return JSONResponse({"detail": exc.message}, status_code=exc.status_code, headers=exc.headers)


def excerpt(value, limit: int = EXCERPT):
    """A JSON-safe, bounded stand-in for a piece of input (never serialises a large structure)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        # str() of a huge int is slow (and refused past 4300 digits): describe it instead.
        return value if value.bit_length() <= 64 else f"<an integer of about {int(value.bit_length() * 0.30103)} digits>"
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)  # nan/inf would make the answer invalid JSON
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value[: limit * 4]).decode("utf-8", "replace")
    if isinstance(value, Decimal):
        value = str(value) if not value.is_finite() or abs(value.adjusted()) < 100 else f"<a number of about 1e{value.adjusted()}>"
    if isinstance(value, str):
        return value if len(value) <= limit else value[:limit] + "…"
    if isinstance(value, dict):
        keys = ", ".join(str(k)[:20] for k in list(value)[:5])
        return f"{{an object with {len(value)} keys: {keys}{', …' if len(value) > 5 else ''}}}"[: limit + 40]
    if isinstance(value, (list, tuple)):
        return f"[an array of {len(value)} items]"
    return f"<{type(value).__name__}>"


def _bounded(error: dict) -> dict:
    out = {"type": str(error.get("type", "value_error"))[:64],
           "loc": [part if isinstance(part, int) else str(part)[:64] for part in list(error.get("loc", ()))[:12]],
           "msg": str(error.get("msg", ""))[:300]}
    if "input" in error:
        out["input"] = excerpt(error["input"])
    ctx = error.get("ctx")
    if isinstance(ctx, dict):
        # Only simple facts (max_length, ge, pattern ...), each short; exceptions become their message.
        out["ctx"] = {str(k)[:32]: excerpt(v if v is None or isinstance(v, (int, float, str, Decimal)) else str(v))
                      for k, v in list(ctx.items())[:5]}
    return out


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    detail = [_bounded(e) for e in errors[:MAX_ERRORS]]
    if len(errors) > MAX_ERRORS:
        detail.append({"type": "too_many_errors", "loc": [], "msg": f"{len(errors) - MAX_ERRORS} more errors not shown"})
    return JSONResponse({"detail": detail}, status_code=422)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # No logging here: the exception is re-raised after this answer is sent, and RequestIdMiddleware logs
    # it once, with the id.
    return JSONResponse(internal_error_body(current_request_id()), status_code=500)


async def _out_of_range(request: Request, exc: OverflowError) -> JSONResponse:
    # Date or number arithmetic the input pushed past what Python can represent (a date type or a schema
    # that should have refused it did not): still the client's value, so a 422, never a 500.
    log.info("out of range (request id %s): %s", current_request_id(), exc)
    return _with_id("a date or number in the request is out of range", 422)


async def _db_unavailable(request: Request, exc: DBAPIError) -> JSONResponse:
    # 25006: a move/restore froze the database read-only; 3D000/28P01: a process still on the route to the
    # database (and role) it replaced, until the invalidation reaches it. Both pass in a moment.
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate in ("3D000", "28P01"):
        # Our cached route points at a database/role that was replaced (move, restore): forget it
        # here at once instead of waiting for an invalidation that may not come (Redis down).
        key = request.scope.get("state", {}).get("route_key")
        if key:
            request.app.state.platform.routes.drop_local([key])
    if sqlstate == "57014":
        # statement_timeout (POLYFLOW_TENANT_STATEMENT_TIMEOUT) ended a query: a report too large or a lock
        # held too long. Nothing was written (the transaction was rolled back).
        log.warning("statement cancelled (timeout) (request id %s): %s", current_request_id(), exc.orig)
        return _with_id("The request took too long and was stopped; narrow it (dates, filters, a smaller page) or "
                        "try again later", 503, {"Retry-After": "5"})
    if sqlstate in ("25006", "3D000", "28P01"):
        log.info("workspace database replaced or read-only %s (request id %s): %s", sqlstate, current_request_id(),
                 exc.orig)
        return _with_id("This workspace is being moved or restored; retry in a moment", 503, {"Retry-After": "1"})
    # PostgreSQL's message names tables, constraints and values: it goes to the log, with the request id the
    # client gets, never into the answer.
    if sqlstate and sqlstate.startswith("23"):
        # An integrity rule the service did not pre-check (checked at commit: a deferred trigger, a
        # constraint under a race). The transaction was rolled back: nothing was written.
        log.info("integrity violation %s (request id %s): %s", sqlstate, current_request_id(), exc.orig)
        return _with_id("the change conflicts with existing data and was not saved", 409)
    if sqlstate and sqlstate.startswith("22"):
        # A value PostgreSQL cannot store (a NUL character, an out-of-range number) that validation let
        # through: the client's input, so a 422, and nothing was written.
        log.info("data exception %s (request id %s): %s", sqlstate, current_request_id(), exc.orig)
        return _with_id("a value cannot be stored (out of range or not allowed) and nothing was saved", 422)
    if isinstance(exc, (OperationalError, InterfaceError)) or exc.connection_invalidated:
        log.warning("database unavailable (request id %s): %s", current_request_id(), exc.orig)
        return _with_id("The database is temporarily unavailable; try again shortly", 503, {"Retry-After": "5"})
    log.error("unexpected database error (request id %s)", current_request_id(), exc_info=exc)
    return JSONResponse(internal_error_body(current_request_id()), status_code=500)


async def _connect_failed(request: Request, exc: OSError) -> JSONResponse:
    log.warning("database connection failed (request id %s): %s", current_request_id(), exc)
    return _with_id("The database is temporarily unavailable; try again shortly", 503, {"Retry-After": "5"})


async def _pool_timeout(request: Request, exc: PoolTimeout) -> JSONResponse:
    # All of this tenant's connections stayed busy for the whole wait.
    return _with_id("the server is busy; retry in a moment", 503, {"Retry-After": "1"})


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
    app.add_exception_handler(OverflowError, _out_of_range)
    app.add_exception_handler(PoolTimeout, _pool_timeout)
    app.add_exception_handler(PolyflowError, _polyflow_error)
    app.add_exception_handler(DBAPIError, _db_unavailable)
    app.add_exception_handler(OSError, _connect_failed)
