"""Exception handlers shared by the apps: user-caused errors become clear 4xx/503, never a stack trace."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from polyflow.kit.errors import PolyflowError

log = logging.getLogger(__name__)


async def _polyflow_error(request: Request, exc: PolyflowError) -> JSONResponse:
    return JSONResponse({"detail": exc.message}, status_code=exc.status_code, headers=exc.headers)


async def _db_unavailable(request: Request, exc: DBAPIError) -> JSONResponse:
    if isinstance(exc, (OperationalError, InterfaceError)) or exc.connection_invalidated:
        log.warning("database unavailable: %s", exc.orig)
        return JSONResponse(
            {"detail": "The database is temporarily unavailable; try again shortly."},
            status_code=503,
            headers={"Retry-After": "5"},
        )
    log.error("unexpected database error", exc_info=exc)
    return JSONResponse({"detail": "Internal error."}, status_code=500)


async def _connect_failed(request: Request, exc: OSError) -> JSONResponse:
    log.warning("database connection failed: %s", exc)
    return JSONResponse(
        {"detail": "The database is temporarily unavailable; try again shortly."},
        status_code=503,
        headers={"Retry-After": "5"},
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(PolyflowError, _polyflow_error)
    app.add_exception_handler(DBAPIError, _db_unavailable)
    app.add_exception_handler(OSError, _connect_failed)
