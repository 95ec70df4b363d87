"""Exception handlers shared by the apps: user-caused errors become clear 4xx/503, never a stack trace."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from polyflow.kit.errors import PolyflowError

log = logging.getLogger(__name__)


async def _polyflow_error(request: Request, exc: PolyflowError) -> JSONResponse:
    return JSONResponse({"detail": exc.message}, status_code=exc.status_code, headers=exc.headers)


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
        log.warning("statement cancelled (timeout): %s", exc.orig)
        return JSONResponse({"detail": "The request took too long and was stopped; narrow it (dates, filters, "
                                       "a smaller page) or try again later."},
                            status_code=503, headers={"Retry-After": "5"})
    if sqlstate in ("25006", "3D000", "28P01"):
        return JSONResponse({"detail": "This workspace is being moved or restored; retry in a moment."},
                            status_code=503, headers={"Retry-After": "1"})
    if sqlstate and sqlstate.startswith("23"):
        # An integrity rule the service did not pre-check (checked at commit: a deferred trigger, a
        # constraint under a race). The transaction was rolled back: nothing was written.
        log.info("integrity violation %s: %s", sqlstate, exc.orig)
        return JSONResponse({"detail": f"the change conflicts with existing data and was not saved ({_first_line(exc.orig)})"},
                            status_code=409)
    if sqlstate and sqlstate.startswith("22"):
        # A value PostgreSQL cannot store (a NUL character, an out-of-range number) that validation let
        # through: the client's input, so a 422, and nothing was written.
        log.info("data exception %s: %s", sqlstate, exc.orig)
        return JSONResponse({"detail": f"a value cannot be stored ({_first_line(exc.orig)})"}, status_code=422)
    if isinstance(exc, (OperationalError, InterfaceError)) or exc.connection_invalidated:
        log.warning("database unavailable: %s", exc.orig)
        return JSONResponse(
            {"detail": "The database is temporarily unavailable; try again shortly."},
            status_code=503,
            headers={"Retry-After": "5"},
        )
    log.error("unexpected database error", exc_info=exc)
    return JSONResponse({"detail": "Internal error."}, status_code=500)


def _first_line(orig) -> str:
    return str(orig).strip().splitlines()[0][:200] if orig is not None else "constraint"


async def _connect_failed(request: Request, exc: OSError) -> JSONResponse:
    log.warning("database connection failed: %s", exc)
    return JSONResponse(
        {"detail": "The database is temporarily unavailable; try again shortly."},
        status_code=503,
        headers={"Retry-After": "5"},
    )


async def _pool_timeout(request: Request, exc: PoolTimeout) -> JSONResponse:
    # All of this tenant's connections stayed busy for the whole wait.
    return JSONResponse({"detail": "the server is busy; retry in a moment"}, status_code=503,
                        headers={"Retry-After": "1"})


def install(app: FastAPI) -> None:
    app.add_exception_handler(PoolTimeout, _pool_timeout)
    app.add_exception_handler(PolyflowError, _polyflow_error)
    app.add_exception_handler(DBAPIError, _db_unavailable)
    app.add_exception_handler(OSError, _connect_failed)
