"""Exception handlers shared by the apps: user-caused errors become clear 4xx/503, never a stack trace.

A database that cannot serve (SQLSTATE classes 08, 28, 3D, 53, 57P0x, a refused or lost connection) is a 503
with Retry-After and a message that says why, logged once per outage (kit.logs.outage), never a 500.
Database errors and every 5xx carry the request id (in the body, and in the X-Request-ID header set by
kit.request_id); PostgreSQL's own text goes to the log only. Validation errors keep FastAPI's structure
(type, loc, msg) but echo at most a short excerpt of the input.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from decimal import Decimal

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from polyflow.kit.errors import PolyflowError
from polyflow.kit.logs import outage
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


# Why a tenant's database cannot serve, by SQLSTATE (exact code first, then its two-character class):
# (message, Retry-After seconds, outage cause). Connect-time errors reach the handlers as DBAPIError (SQLAlchemy
# translates what the engines' async_creator raises) or, on other paths and older SQLAlchemy versions, as
# asyncpg's own exceptions; both carry ``sqlstate``.
_UNAVAILABLE: dict[str, tuple[str, int, str]] = {
    "57P01": ("The database server closed the connection (a restart or an administrator's command); retry in a "
              "moment", 2, "restart"),
    "57P02": ("The database server crashed and is restarting; retry in a few seconds", 5, "restart"),
    "57P03": ("The database server is starting up, shutting down or recovering and accepts no connection yet; "
              "retry in a few seconds", 5, "starting"),
    "57P05": ("The database connection was closed after being idle; retry", 1, "restart"),
    # 53300: the server's max_connections or the workspace role's CONNECTION LIMIT is reached.
    "53300": ("The database refused another connection (too many connections: the server's or this workspace's "
              "limit); retry in a moment", 2, "too-many-connections"),
    "53": ("The database server is short of resources (disk, memory); retry later", 30, "insufficient-resources"),
    # A connection that died under a request (08003 connection_does_not_exist, 08006 connection_failure).
    "08003": ("The database connection was lost (the server restarted or closed it); retry shortly", 2,
              "disconnected"),
    "08006": ("The database connection was lost (the server restarted or closed it); retry shortly", 2,
              "disconnected"),
    "08": ("The workspace's database server cannot be reached right now; retry shortly", 5, "unreachable"),
}
UNREACHABLE = _UNAVAILABLE["08"][0]
LOST = _UNAVAILABLE["08003"][0]
# Checked against the registry before answering: the route may be stale (a move, restore, rotation).
_CHECK_ROUTE = {"3D": "database-missing", "28": "credentials-refused", "57P04": "database-missing"}
ROUTE_CHECK_SECONDS = 2.0


def sqlstate_of(exc: BaseException) -> str | None:
    """The SQLSTATE of a database error, wrapped by SQLAlchemy or raw from asyncpg; None if it has none."""
    state = getattr(getattr(exc, "orig", None), "sqlstate", None) or getattr(exc, "sqlstate", None)
    return state if isinstance(state, str) else None


def _classified(sqlstate: str | None, table: dict):
    if not sqlstate:
        return None
    return table.get(sqlstate) or table.get(sqlstate[:2])


# Causes of a whole server (restart, recovery, too many connections, unreachable): one outage per server, not
# one per tenant (a restart would log a trace for every tenant that happened to ask). A missing database or
# refused credentials concern one tenant.
_PER_TENANT = frozenset({"database-missing", "credentials-refused"})
# No failure of a kind for this long: the outage is over (the next failure starts a new one, logged in full).
OUTAGE_QUIET_SECONDS = 30.0
_last_failure: dict[str, float] = {}


def _outage(request: Request, cause: str, exc: BaseException) -> None:
    """Log a fault once per outage (kit.logs.outage: the first with its trace, then periodic counts)."""
    route = request.scope.get("state", {}).get("tenant")
    tenant = getattr(route, "subdomain", None) or "-"
    where = tenant if cause in _PER_TENANT else f"{getattr(route, 'db_host', '-')}:{getattr(route, 'db_port', '-')}"
    key = f"tenant-db:{where}:{cause}"
    now = time.monotonic()
    current = outage(key, log)
    if now - _last_failure.get(key, now) > OUTAGE_QUIET_SECONDS:
        current.recovered("workspace database errors stopped")
    _last_failure[key] = now
    current.failed("workspace database %s (tenant %s): %s %s (request id %s)", where, tenant, cause,
                   f"{type(exc).__name__}: {exc}", current_request_id(), exc=exc, level=logging.WARNING)


async def _route_verdict(request: Request, sqlstate: str) -> tuple[str, int] | None:
    """For a missing database or refused credentials: compare the route this request used with the registry.

    A route that changed (a move or restore switched the database, credentials were rotated, the tenant left
    the active state) means this process was behind: forget it here at once (no need to wait for an
    invalidation that may not come) and answer "retry". The same route means the database really is gone or
    the role really refuses us: say so, and do not promise it will pass. None: the registry cannot tell."""
    state = request.scope.get("state", {})
    route, key = state.get("tenant"), state.get("route_key")
    if route is None or key is None:
        return None
    platform = request.app.state.platform
    try:
        async with asyncio.timeout(ROUTE_CHECK_SECONDS):
            fresh = await platform.registry.load(key)
    except Exception:  # the main database is down too: no verdict
        log.info("route check for %s failed (request id %s)", key, current_request_id(), exc_info=True)
        return None
    if fresh is None or fresh.status != route.status or fresh.fingerprint != route.fingerprint:
        platform.routes.drop_local([key])
        return "This workspace is being moved or restored; retry in a moment", 1
    if sqlstate.startswith("28"):
        return ("The workspace's database refused Polyflow's credentials (its role was changed outside Polyflow); "
                "an operator has to repair it", 60)
    return ("The workspace's database is missing (dropped or renamed outside Polyflow); an operator has to "
            "restore it", 300)


async def _unavailable(request: Request, sqlstate: str | None, exc: BaseException) -> JSONResponse | None:
    """A 503 + Retry-After that says why the tenant's database cannot serve, for the SQLSTATEs that mean the
    server, the connection or the database is (temporarily) unusable; None for any other error."""
    known = _classified(sqlstate, _UNAVAILABLE)
    if known is not None:
        message, retry, cause = known
        _outage(request, cause, exc)
        return _with_id(message, 503, {"Retry-After": str(retry)})
    cause = _classified(sqlstate, _CHECK_ROUTE)
    if cause is not None:
        verdict = await _route_verdict(request, sqlstate)
        if verdict is None:
            verdict = ("The workspace's database cannot be opened right now; retry shortly", 5)
        elif verdict[1] > 1:
            _outage(request, cause, exc)
        return _with_id(verdict[0], 503, {"Retry-After": str(verdict[1])})
    return None


async def _db_unavailable(request: Request, exc: DBAPIError) -> JSONResponse:
    sqlstate = sqlstate_of(exc)
    if sqlstate == "57014":
        # statement_timeout (POLYFLOW_TENANT_STATEMENT_TIMEOUT) ended a query: a report too large or a lock
        # held too long. Nothing was written (the transaction was rolled back).
        log.warning("statement cancelled (timeout) (request id %s): %s", current_request_id(), exc.orig)
        return _with_id("The request took too long and was stopped; narrow it (dates, filters, a smaller page) or "
                        "try again later", 503, {"Retry-After": "5"})
    if sqlstate == "25006":
        # A move, restore or backup froze the database read-only; it passes in a moment.
        log.info("workspace database read-only %s (request id %s): %s", sqlstate, current_request_id(), exc.orig)
        return _with_id("This workspace is being moved or restored; retry in a moment", 503, {"Retry-After": "1"})
    answer = await _unavailable(request, sqlstate, exc)
    if answer is not None:
        return answer
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
    if exc.connection_invalidated:
        _outage(request, "disconnected", exc)
        return _with_id(LOST, 503, {"Retry-After": "2"})
    if isinstance(exc, (OperationalError, InterfaceError)):
        _outage(request, "unavailable", exc)
        return _with_id("The database is temporarily unavailable; try again shortly", 503, {"Retry-After": "5"})
    log.error("unexpected database error (request id %s)", current_request_id(), exc_info=exc)
    return JSONResponse(internal_error_body(current_request_id()), status_code=500)


async def _asyncpg_error(request: Request, exc: Exception) -> JSONResponse:
    """asyncpg's own exceptions, when one reaches a handler unwrapped (not a DBAPIError)."""
    answer = await _unavailable(request, sqlstate_of(exc), exc)
    if answer is not None:
        return answer
    if isinstance(exc, asyncpg.InterfaceError):  # ConnectionDoesNotExistError and the like: the link is gone
        _outage(request, "disconnected", exc)
        return _with_id(LOST, 503, {"Retry-After": "2"})
    log.error("unexpected database error (request id %s)", current_request_id(), exc_info=exc)
    return JSONResponse(internal_error_body(current_request_id()), status_code=500)


async def _connect_failed(request: Request, exc: OSError) -> JSONResponse:
    # Refused, reset or timed out (asyncpg raises OSError / TimeoutError for these): SQLSTATE class 08 for
    # the client.
    _outage(request, "unreachable", exc)
    return _with_id(UNREACHABLE, 503, {"Retry-After": "5"})


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
    app.add_exception_handler(asyncpg.PostgresError, _asyncpg_error)
    app.add_exception_handler(asyncpg.InterfaceError, _asyncpg_error)
