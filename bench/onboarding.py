"""Benchmark: seconds from `create` to the first 200 from the new subdomain, template vs scratch.

    python bench/onboarding.py               # fsync on (as in production); about 2 minutes
    python bench/onboarding.py --fast        # fsync off (as in the test suite)

Starts its own PostgreSQL cluster and Redis, a main database and the app in a child process (one
uvicorn worker). For each mode it onboards N tenants one after another with the real code
(`onboarding.onboard`: reserve, role, database, migrate/clone, seed, verify, activate, owner password)
and polls `GET /api/v1/tenant` on the new subdomain until it answers 200. Then it onboards a batch
of tenants with the template at a fixed concurrency and reports the wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from bench import harness  # noqa: E402
from polyflow.platform import onboarding, templates  # noqa: E402
from polyflow.platform.runtime import Platform  # noqa: E402

out = Console() if sys.stdout.isatty() else Console(width=160)
TARGET_MEDIAN_S = 1.0
TARGET_RATIO = 5.0


async def first_200(client: httpx.AsyncClient, subdomain: str, deadline_s: float = 30) -> None:
    deadline = time.perf_counter() + deadline_s
    while time.perf_counter() < deadline:
        r = await client.get("/api/v1/tenant", headers={"Host": f"{subdomain}.localhost"})
        if r.status_code == 200:
            return
        await asyncio.sleep(0.005)
    raise RuntimeError(f"{subdomain} never answered 200")


MODES = {
    # mode: (use_template, spares kept ready)
    "spare": (True, 2),  # claim a ready clone by rename; refilled after each (not timed)
    "clone": (True, 0),  # CREATE DATABASE ... TEMPLATE on the critical path
    "scratch": (False, 0),  # CREATE DATABASE + every migration
}


STEPS = ("role", "database", "migrated", "seeded", "verified", "active")


async def onboard_and_reach(platform: Platform, client: httpx.AsyncClient, sub: str, mode: str,
                            parts: dict[str, list[float]] | None = None) -> float:
    use_template, spares = MODES[mode]
    platform.settings.spare_databases = spares
    marks: list[tuple[str, float]] = []

    def hook(step: str, phase: str) -> None:
        if phase == "done":
            marks.append((step, time.perf_counter()))

    started = time.perf_counter()
    result = await onboarding.onboard(platform, name=f"PT {sub}", subdomain=sub, admin_email=f"owner@{sub}.test",
                                      use_template=use_template, hook=hook)
    returned = time.perf_counter()
    assert result.from_template == use_template, (sub, result.from_template)
    await first_200(client, sub)
    ended = time.perf_counter()
    if parts is not None:  # where the time goes: each step from the end of the previous one
        previous = started
        for step, at in marks:
            parts.setdefault(step, []).append(at - previous)
            previous = at
        parts.setdefault("after active", []).append(returned - previous)
        parts.setdefault("first 200", []).append(ended - returned)
    return ended - started


async def run(args) -> None:
    with contextlib.ExitStack() as stack:
        cluster, admin = harness.start_postgres(stack, fast=args.fast)
        redis = harness.start_redis(stack)
        settings = harness.bench_settings(admin.with_database(harness.MAIN_DB).url("postgresql"), redis.url)
        await harness.build_main_database(admin, settings)
        workdir = Path(tempfile.mkdtemp(prefix="pf-bench-onb-"))
        # A machine busy with other work may need more than the default 30 s to import the app.
        server = harness.ServerProcess(settings=settings, workdir=workdir, start_timeout=180).start(stack)
        platform = Platform(settings)
        try:
            async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:
                # The template is built once per tenant-migration head; measure that separately.
                t = time.perf_counter()
                server_row = await _default_server(platform)
                await templates.ensure_template(server_row, platform.secrets)
                build_s = time.perf_counter() - t

                platform.settings.spare_databases = 2
                await onboarding.refill_spares(platform)
                times: dict[str, list[float]] = {mode: [] for mode in MODES}
                parts: dict[str, dict[str, list[float]]] = {mode: {} for mode in MODES}
                refills: list[float] = []
                for i in range(args.tenants):  # interleaved, so every mode sees the same machine state
                    for mode in MODES:
                        sub = f"{mode[:2]}{i:03d}-bench"
                        times[mode].append(await onboard_and_reach(platform, client, sub, mode, parts[mode]))
                        if mode == "spare":
                            t = time.perf_counter()
                            await onboarding.refill_spares(platform)
                            refills.append(time.perf_counter() - t)
                        if args.verbose:
                            out.print(f"[dim]{sub}: {times[mode][-1]:.3f}s[/]", highlight=False)

                sem = asyncio.Semaphore(args.concurrency)

                async def batch_one(i: int) -> None:
                    async with sem:
                        await onboard_and_reach(platform, client, f"b{i:03d}-bench", "clone")

                t = time.perf_counter()
                await asyncio.gather(*(batch_one(i) for i in range(args.batch)))
                batch_s = time.perf_counter() - t
        finally:
            await platform.stop()
        # Printed before the servers are stopped: a slow shutdown must not cost the figures.
        report(args, build_s, times, parts, refills, batch_s)


def report(args, build_s: float, times: dict, parts: dict, refills: list, batch_s: float) -> None:
    fsync = "off" if args.fast else "on"
    out.print(f"Machine: nproc={harness.os.cpu_count()}; PostgreSQL fsync={fsync}; one uvicorn worker; "
              f"Redis route cache; template build (once per head) {build_s:.2f}s", highlight=False)
    table = Table(title=f"Create -> first 200 from the new subdomain ({args.tenants} tenants per mode; "
                        "spare: claim a ready clone, clone: CREATE DATABASE ... TEMPLATE, scratch: migrate)")
    for col in ("mode", "n", "median s", "p95 s", "min s", "max s"):
        table.add_column(col, justify="right" if col != "mode" else "left")
    for mode, values in times.items():
        s = sorted(values)
        table.add_row(mode, str(len(s)), f"{statistics.median(s):.3f}", f"{harness.percentile(s, 95):.3f}",
                      f"{s[0]:.3f}", f"{s[-1]:.3f}")
    out.print(table)
    breakdown = Table(title="Where the time goes (median ms; 'role' includes the reservation, 'after active' the "
                            "owner's mail/cleanup, 'first 200' the app's first answer)")
    breakdown.add_column("mode")
    columns = (*STEPS, "after active", "first 200")
    for col in columns:
        breakdown.add_column(col, justify="right")
    for mode in MODES:
        breakdown.add_row(mode, *(f"{1000 * statistics.median(parts[mode][c]):.0f}" if parts[mode].get(c) else "-"
                                  for c in columns))
    out.print(breakdown)
    med_t, med_s = statistics.median(times["spare"]), statistics.median(times["scratch"])
    ratio = med_s / med_t
    summary = Table(title="Targets (ratios from this run)")
    for col in ("measure", "target", "result", ""):
        summary.add_column(col)
    summary.add_row("median with the template (warm spare)", f"< {TARGET_MEDIAN_S:.0f} s", f"{med_t:.3f} s",
                    "met" if med_t < TARGET_MEDIAN_S else "NOT met")
    summary.add_row("scratch / template (median)", f">= {TARGET_RATIO:.0f}x", f"{ratio:.1f}x",
                    "met" if ratio >= TARGET_RATIO else "NOT met")
    summary.add_row("clone / spare (median)", "info", f"{statistics.median(times['clone']) / med_t:.1f}x", "")
    summary.add_row("spare refill after each (off the critical path)", "info",
                    f"{statistics.median(refills):.3f} s median", "")
    summary.add_row(f"{args.batch} tenants, concurrency {args.concurrency}", "info", f"{batch_s:.1f} s wall",
                    f"{args.batch / batch_s:.1f} tenants/s")
    out.print(summary)


async def _default_server(platform: Platform):
    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import AsyncSession

    from polyflow.platform.models import DatabaseServer

    async with AsyncSession(platform.main_engine, expire_on_commit=False) as s:
        return (await s.execute(select(DatabaseServer))).scalar_one()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=20, help="tenants per mode (default 20)")
    parser.add_argument("--batch", type=int, default=100,
                        help="tenants in the wall-time batch, cloned without spares (default 100)")
    parser.add_argument("--concurrency", type=int, default=4, help="concurrent onboardings in the batch")
    parser.add_argument("--fast", action="store_true", help="fsync off (test-suite settings)")
    parser.add_argument("--verbose", action="store_true")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
