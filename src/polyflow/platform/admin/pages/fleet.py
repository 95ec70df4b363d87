"""The fleet: where every tenant's schema stands, the tenants whose last migration failed (with the error),
and rollouts started from the console.

    GET  /fleet                 tenants per revision, behind / failed (with their errors), leases, last run
    POST /fleet/rollout         canary (a number or subdomains, optional), max_failures (optional) ->
                                303 to the run's page
    GET  /fleet/runs/{run_id}   a run: its status, counts and every tenant's row; refreshes every second
                                while it runs (``Refresh`` header + meta, no script)

A rollout is `fleet.run` with one durable job per tenant (``via_jobs``, the CLI's ``--via-jobs``): the
request returns once the run is recorded; the canary phase is followed by a task of this server (a
restart marks the run interrupted, as Ctrl-C does for the CLI) and the jobs are run by `polyflow worker`.
"""

from __future__ import annotations

import asyncio
import logging
import re

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from polyflow.kit.errors import Forbidden, InvalidInput, NotFound, PolyflowError
from polyflow.platform import fleet
from polyflow.platform.admin.pages.common import MaybeAdmin, field, message, page, see_other, signed_form, to_login
from polyflow.platform.fleet import records

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

_SUBDOMAINS = re.compile(r"^[a-z0-9-]{1,63}(,[a-z0-9-]{1,63})*$")
# How long the form waits for the run to be recorded before it gives up on showing it.
RECORD_WAIT = 30.0
_tasks: set[asyncio.Task] = set()  # rollouts following their canary phase (kept referenced until done)
log = logging.getLogger(__name__)


def _finished(task: asyncio.Task) -> None:
    _tasks.discard(task)
    if not task.cancelled() and task.exception() is not None:
        # After the redirect nobody awaits the task: its failure is logged (the run's records say the rest).
        log.error("a rollout started from the console failed", exc_info=task.exception())


class _RunStarted(fleet.Progress):
    """Tells the request which run was recorded, so it can redirect to its page."""

    def __init__(self) -> None:
        self.run_id: int | None = None
        self.recorded = asyncio.Event()

    def start(self, *, work: int, skipped: int, run_id: int | None) -> None:
        self.run_id = run_id
        self.recorded.set()


def parse_canary(text: str) -> int | list[str] | None:
    """'' -> no canary; '2' -> the first two tenants; 'pt-a,pt-b' -> those tenants."""
    text = text.replace(" ", "")
    if not text:
        return None
    if text.isdigit():
        if int(text) < 1:
            raise InvalidInput("the canary must be at least 1 tenant")
        return int(text)
    if not _SUBDOMAINS.fullmatch(text):
        raise InvalidInput("the canary is a number of tenants or subdomains separated by commas")
    return text.split(",")


def _max_failures(text: str) -> int | None:
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise InvalidInput("the failures allowed must be a whole number, at least 1")
    return int(text)


@router.get("/fleet")
async def fleet_page(request: Request, admin: MaybeAdmin):
    """Tenants per schema revision, the ones behind or failed, and the form that starts a rollout."""
    if admin is None:
        return to_login()
    try:
        state = await fleet.status(request.app.state.platform)
    except PolyflowError as exc:
        return message(request, admin, exc)
    return page(request, "admin/fleet.html", admin=admin, s=state)


@router.post("/fleet/rollout")
async def start_rollout(request: Request, admin: MaybeAdmin):
    """Start a rollout to the tenant head (one job per tenant), optionally with a canary phase first."""
    if admin is None:
        return to_login()
    try:
        form = await signed_form(request, admin)
    except Forbidden as exc:
        return message(request, admin, exc)
    platform = request.app.state.platform
    try:
        options = fleet.RunOptions(canary=parse_canary(field(form, "canary", 500)),
                                   max_failures=_max_failures(field(form, "max_failures", 6)),
                                   via_jobs=True, wait=False, actor=admin.actor)
    except PolyflowError as exc:
        state = await fleet.status(platform)
        return page(request, "admin/fleet.html", exc.status_code, admin=admin, s=state, error=exc.message,
                    typed={k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"})
    started = _RunStarted()
    task = asyncio.create_task(fleet.run(platform, options, started))
    _tasks.add(task)
    task.add_done_callback(_finished)
    recorded = asyncio.create_task(started.recorded.wait())
    await asyncio.wait({task, recorded}, timeout=RECORD_WAIT, return_when=asyncio.FIRST_COMPLETED)
    recorded.cancel()
    if started.run_id is None:
        if task.done() and task.exception() is not None:
            exc = task.exception()
            if isinstance(exc, PolyflowError):  # a canary naming no such tenant, a main database behind ...
                state = await fleet.status(platform)
                return page(request, "admin/fleet.html", exc.status_code, admin=admin, s=state, error=exc.message)
            raise exc
        return message(request, admin, PolyflowError("the rollout was not recorded in time; see the fleet page"))
    return see_other(f"/fleet/runs/{started.run_id}")


@router.get("/fleet/runs/{run_id}")
async def run_page(request: Request, admin: MaybeAdmin, run_id: int):
    """One rollout: status, counts per tenant state and every tenant's outcome; refreshes while it runs."""
    if admin is None:
        return to_login()
    platform = request.app.state.platform
    engine = platform.main_engine
    # A run whose process died is shown aborted (not "running" forever), its tenants' leases released.
    await records.abort_dead_runs(platform, stale_after=platform.settings.fleet_run_stale_seconds)
    run = await records.get_run(engine, run_id) if 0 < run_id < 2**63 else None
    if run is None:
        return message(request, admin, NotFound(f"no rollout {run_id}"))
    counts = await records.counts(engine, run_id)
    rows = await records.tenant_rows(engine, run_id)
    running = run.status == "running" or bool(counts.get("pending") or counts.get("running"))
    response = page(request, "admin/fleet_run.html", admin=admin, run=run, counts=counts, rows=rows,
                    running=running)
    if running:
        response.headers["Refresh"] = "1"
    return response
