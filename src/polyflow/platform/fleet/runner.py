"""One fleet migration run: plan from the registry, record, canary, parallel rollout, halt, report."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import deque
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING

from polyflow.kit.errors import InvalidInput
from polyflow.platform import migrate
from polyflow.platform.fleet import records, scripted, selection
from polyflow.platform.fleet.refresh import refresh_templates
from polyflow.platform.fleet.selection import Plan, TenantTarget
from polyflow.platform.fleet.state import Progress, RolloutState, RunOptions, RunReport
from polyflow.platform.fleet.tenant import Outcome, describe

if TYPE_CHECKING:
    from polyflow.platform.runtime import Platform

log = logging.getLogger(__name__)


def default_concurrency(settings) -> int:
    """Tenants migrated at once when ``--concurrency`` is not given: two per core (connections of the
    scripted path, or worker processes of the online path).

    A tenant migration is CPU work on both sides, mostly PostgreSQL's (a new backend, SCRAM, cold
    catalog caches, the DDL) once the scripted path has taken Alembic and the per-tenant bookkeeping
    off the migrator; two tenants in flight per core keep the cores busy through the hand-overs
    (bench/fleet.py --scan for other counts). A migrator in front of separate database servers can
    use more (--concurrency). Each tenant in flight holds one tenant connection; capped by half the
    per-process tenant connection budget and 16.
    """
    cores = os.cpu_count() or 1
    return max(2, min(2 * cores, settings.tenant_connection_budget // 2, 16))


async def make_plan(platform: "Platform", options: RunOptions, *, repair: bool) -> Plan:
    """Tenants in scope, classified from the registry (after ``--verify`` has corrected it)."""
    target = migrate.head("tenant")
    # A run whose process died still holds its tenants' leases and says `running`: settle it first.
    await records.abort_dead_runs(platform, stale_after=platform.settings.fleet_run_stale_seconds)
    tenants = await selection.load_targets(platform.main_engine)
    if options.only:
        tenants = selection.restrict(tenants, options.only)
    repaired: list = []
    unreachable: list = []
    if options.verify:
        concurrency = options.concurrency or default_concurrency(platform.settings)
        tenants, repaired, unreachable = await selection.verify(
            platform.main_engine, platform.secrets, tenants, concurrency=max(4, 2 * concurrency), repair=repair)
        if repair:
            by_sub = {t.subdomain: t for t in tenants}
            for sub, _, _ in repaired:  # the route carries the revision (the "behind" check)
                await platform.tenant_changed(sub, list(by_sub[sub].domains), by_sub[sub].tenant_id)
    plan = selection.classify(tenants, target)
    plan.repaired, plan.unreachable = repaired, unreachable
    return plan


def pick_canaries(work: list[TenantTarget], canary: int | list[str] | None) -> list[TenantTarget]:
    if canary is None:
        return []
    if isinstance(canary, int):
        if canary < 1:
            raise InvalidInput("--canary must be at least 1")
        return work[:canary]
    wanted = set(canary)
    return [t for t in work if t.subdomain in wanted]


async def _drive(platform: "Platform", executor, tenants: list[TenantTarget], *, goal: str, run_id: int,
                 concurrency: int, state: RolloutState, progress: Progress) -> None:
    """Keep ``concurrency`` tenants in flight; stop starting new ones once the run halts."""
    todo = deque(tenants)
    inflight: dict[asyncio.Future, TenantTarget] = {}
    try:
        await _drive_loop(platform, executor, todo, inflight, goal=goal, run_id=run_id, concurrency=concurrency,
                          state=state, progress=progress)
    finally:
        if inflight:  # cancelled (Ctrl-C): collect what is in flight, so nothing is left unretrieved
            for fut in inflight:
                fut.cancel()
            await asyncio.gather(*inflight, return_exceptions=True)


async def _drive_loop(platform: "Platform", executor, todo: deque, inflight: dict, *, goal: str, run_id: int,
                      concurrency: int, state: RolloutState, progress: Progress) -> None:
    while todo or inflight:
        while todo and len(inflight) < concurrency and state.halt_reason is None:
            t = todo.popleft()
            inflight[asyncio.ensure_future(executor.migrate(t, goal, run_id))] = t
        if not inflight:
            break
        done, _ = await asyncio.wait(inflight, return_when=asyncio.FIRST_COMPLETED)
        for fut in done:
            t = inflight.pop(fut)
            try:
                outcome = fut.result()
            except Exception as exc:  # the worker process died: its tenant rolled back with it
                error = f"worker process failed: {describe(exc)}"
                outcome = Outcome(t.subdomain, "failed", t.registry_revision, t.registry_revision, 0.0, error)
                await records.fail_tenant(platform.main_engine, run_id, t.tenant_id, error)
                if isinstance(exc, BrokenProcessPool) and state.halt_reason is None:
                    state.halt_reason = "a worker process died; the run stopped"
            state.add(outcome)
            progress.tenant_done(outcome)


class _Executors:
    """The scripted path (in this process) for tenants whose upgrade renders as SQL; worker processes or
    this process (one at a time) for the rest, the online path, created only if there is such a tenant."""

    def __init__(self, platform: "Platform", concurrency: int, online: int):
        from polyflow.platform.fleet.pool import InProcess, WorkerPool

        self.concurrency = concurrency
        size = min(concurrency, online)
        # Created before the bookkeeping, so that worker processes start meanwhile.
        self.online = None if online == 0 else InProcess(platform) if size <= 1 else WorkerPool(platform.settings,
                                                                                                 size)

    async def close(self) -> None:
        if self.online is not None:
            await self.online.close()


async def _phase(platform: "Platform", executors: _Executors, tenants: list[TenantTarget], *, goal: str,
                 run_id: int, state: RolloutState, progress: Progress) -> None:
    fast = [t for t in tenants if scripted.can_script(t, goal)]
    online = [t for t in tenants if t not in fast]
    if fast:
        await scripted.rollout(platform, fast, goal=goal, run_id=run_id, concurrency=executors.concurrency,
                               state=state, progress=progress)
    if online and state.halt_reason is None:
        await _drive(platform, executors.online, online, goal=goal, run_id=run_id, concurrency=executors.online.size,
                     state=state, progress=progress)


async def _rollout(platform: "Platform", executors: _Executors, work: list[TenantTarget],
                   canaries: list[TenantTarget], *, goal: str, run_id: int, state: RolloutState,
                   progress: Progress) -> None:
    """Canaries first (stop if one fails), then everyone else."""
    if canaries:
        progress.note(f"canary: {', '.join(t.subdomain for t in canaries)}")
        await _phase(platform, executors, canaries, goal=goal, run_id=run_id, state=state, progress=progress)
        names = {t.subdomain for t in canaries}
        bad = [o.subdomain for o in state.outcomes if o.status == "failed" and o.subdomain in names]
        if bad and state.halt_reason is None:
            state.halt_reason = f"canary failed ({', '.join(bad)}); the rollout stopped"
    if state.halt_reason is None:
        rest = [t for t in work if t not in canaries]
        await _phase(platform, executors, rest, goal=goal, run_id=run_id, state=state, progress=progress)


async def run(platform: "Platform", options: RunOptions | None = None, progress: Progress | None = None, *,
              main_revision: str | None = None) -> RunReport:
    """Migrate every tenant with a schema to the tenant head; see the package docstring."""
    options = options or RunOptions()
    progress = progress or Progress()
    started = time.perf_counter()
    if options.max_failures is not None and options.max_failures < 1:
        raise InvalidInput("--max-failures must be at least 1")
    concurrency = max(1, options.concurrency or default_concurrency(platform.settings))
    plan = await make_plan(platform, options, repair=True)
    work = plan.work
    canaries = [] if options.retry_failed else pick_canaries(work, options.canary)
    report = RunReport(None, plan.target, "running", len(plan.tenants) + len(plan.unreachable),
                       len(plan.at_target), len(plan.ahead), repaired=plan.repaired,
                       concurrency=0 if options.via_jobs else min(concurrency, max(1, len(work))),
                       main_revision=main_revision)
    engine = platform.main_engine
    executor = None
    if work and not options.via_jobs:
        online = sum(1 for t in work if not scripted.can_script(t, plan.target))
        executor = _Executors(platform, concurrency, online)
    state = RolloutState(options.max_failures)
    heartbeat = None
    try:
        report.run_id = await records.create_run(
            engine, target=plan.target, main_revision=main_revision, actor=options.actor,
            options=options.as_dict(), work=work + [t for t, _ in plan.unreachable],
            summary={"tenants": report.tenants, "at_target": report.at_target, "ahead": report.ahead},
            # A run driven from this process says where it lives; one handed to job workers does not
            # (it goes on when this process exits).
            runner=not options.via_jobs)
        if not options.via_jobs:
            heartbeat = asyncio.create_task(records.keep_alive(engine, report.run_id))
        for t, error in plan.unreachable:  # --verify could not read it: a failure of this run
            async with engine.begin() as conn:
                await records.upsert_tenant(conn, report.run_id, t, status="failed", error=error[:4000])
            state.add(Outcome(t.subdomain, "failed", t.registry_revision, t.registry_revision, 0.0, error))
        progress.start(work=len(work), skipped=report.at_target + report.ahead, run_id=report.run_id)
        if options.via_jobs:
            from polyflow.platform.fleet import queue

            await queue.rollout(platform, report, work, canaries, options, state, progress)
        elif executor is not None:
            await _rollout(platform, executor, work, canaries, goal=plan.target, run_id=report.run_id,
                           state=state, progress=progress)
    except (asyncio.CancelledError, KeyboardInterrupt):
        # Ctrl-C: the tenants in flight roll back with their connections; the records say so.
        if report.run_id is not None:
            await records.interrupted(engine, report.run_id)
        raise
    finally:
        if heartbeat is not None:
            heartbeat.cancel()
        if executor is not None:
            await executor.close()

    progress.finished()
    report.outcomes = state.outcomes
    report.halt_reason = state.halt_reason
    if report.status == "queued":  # via jobs, not waiting: the last job closes the run
        report.seconds = time.perf_counter() - started
        return report
    if state.halt_reason:
        await records.halt(engine, report.run_id, state.halt_reason)
    report.left_behind = await records.leave_behind(engine, report.run_id)
    report.seconds = time.perf_counter() - started
    report.status = await records.finish(engine, report.run_id, report.summary())
    if options.refresh_templates:
        try:
            report.warnings += await refresh_templates(platform)
        except Exception as exc:
            report.warnings.append(f"rebuilding the onboarding template failed: {describe(exc)}")
    return report
