"""Benchmark: what resolving host -> tenant -> session costs, and what the engine cache buys.

    python bench/resolve.py                # about 2 minutes on 2 cores
    python bench/resolve.py --help

Starts its own PostgreSQL cluster (temp folder, fsync off) and Redis, builds a fresh main database,
provisions the tenants with the real code and then measures, in one run:

1. host -> tenant -> session on a warm cache (classify, route cache hit, engine lease,
   AsyncSession), in-process, each part and the total; and its share of a simple request
   (`GET /api/v1/tenant`, `GET /api/v1/products` at concurrency 1, client-side and server-side).
2. requests/s of `GET /api/v1/products` served by one uvicorn worker in its own process, with
   the same load (wrk) in three scenarios: (a) Host rotated over all tenants, (b) one tenant only,
   (c) the seed's "new engine per request" baseline. (a) and (b) run with `--budget` and, when that
   budget cannot hold every tenant's pool (tenants x pool size), once more with one that can.

The tenant API needs credentials: every tenant gets a bench user (role viewer) with an API token, and
each `GET /api/v1/products` carries its own tenant's `Authorization: Bearer` token, rotated together
with the Host. The server verifies each token once in its tenant's database and then reuses the verified
credential from its in-process cache (POLYFLOW_CREDENTIAL_CACHE_SECONDS, default 10 s; `python bench/auth.py`
measures the lookup it saves). `GET /api/v1/tenant` is public and is sent without credentials.
The engine-per-request server (c) gets the same requests, tokens included.

A quick look (about 1 minute): python bench/resolve.py --quick

Everything it starts is stopped, and its temp folders removed, also on error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg  # noqa: E402
import httpx  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine  # noqa: E402

from bench import harness  # noqa: E402
from bench.harness import LoadResult, percentile  # noqa: E402
from polyflow.config import Settings  # noqa: E402
from polyflow.kit.db import PgDsn  # noqa: E402
from polyflow.platform.runtime import Platform  # noqa: E402
from polyflow.platform.tenancy.hosts import effective_host  # noqa: E402

# Piped output (a log, a report) gets wide tables instead of Rich's 80-column default.
out = Console() if sys.stdout.isatty() else Console(width=180)
progress = Console(stderr=True, style="dim")

RESOLVE_TARGET_US = 50.0
SPREAD_TARGET = 0.9
BASELINE_TARGET = 10.0


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tenants", type=int, default=50)
    p.add_argument("--products", type=int, default=5, help="products per tenant")
    p.add_argument("--iterations", type=int, default=20_000, help="warm-cache resolutions to time")
    p.add_argument("--seconds", type=float, default=6, help="duration of each measured load run")
    p.add_argument("--warmup", type=float, default=2, help="warm-up before each load run")
    p.add_argument("--latency-seconds", type=float, default=3, help="duration of each concurrency-1 run")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--rounds", type=int, default=2, help="alternate the spread/single runs this many times")
    p.add_argument("--pool-size", type=int, default=2, help="tenant_pool_size")
    p.add_argument("--budget", type=int, default=40,
                   help="tenant_connection_budget; if below tenants x pool size, a second server runs with that")
    p.add_argument("--load", choices=("auto", "wrk", "python"), default="auto")
    p.add_argument("--quick", action="store_true",
                   help="a smoke run: 10 tenants, 2,000 iterations, 2 s runs, 0.5 s warm-up, 1 round, budget 15 "
                        "(explicit options still win)")
    if p.parse_args().quick:  # the quick values become the defaults; explicit options still win
        p.set_defaults(tenants=10, iterations=2_000, seconds=2, warmup=0.5, latency_seconds=1, rounds=1, budget=15)
    args = p.parse_args()
    if args.tenants < 2 or args.tenants > 999:
        p.error("--tenants must be 2..999")
    return args


# -- part 1: in-process resolution ---------------------------------------------------------------
@dataclass
class Timing:
    label: str
    p50_us: float
    p99_us: float
    n: int
    in_total: bool = True


def _timing(label: str, ns: list[int], in_total: bool = True) -> Timing:
    s = sorted(ns)
    return Timing(label, percentile(s, 50) / 1000, percentile(s, 99) / 1000, len(s), in_total)


async def measure_resolve(platform: Platform, subdomains: list[str], iterations: int) -> list[Timing]:
    """The request path's resolution, timed part by part on a warm cache (no query is run)."""
    root = platform.settings.root_domain
    hosts = [f"{s}.{root}" for s in subdomains]
    headers = [[(b"host", h.encode()), (b"user-agent", b"wrk"), (b"accept", b"*/*")] for h in hosts]
    trusted = platform.settings.trusted_proxy_networks
    classify, routes, engines = platform.hosts.classify, platform.routes, platform.engines

    for host in hosts:  # warm: classify memo, route cache, engine cache, one pooled connection each
        route = await routes.get("sub:" + classify(host).name)
        async with engines.lease(route) as engine:
            async with AsyncSession(engine) as session:
                await session.execute(text("SELECT 1"))
    hits_before, created_before = routes.stats["hit"], engines.created

    clock = time.perf_counter_ns
    header, cls, get, enter, sess, leave, total = [], [], [], [], [], [], []
    n = len(hosts)
    for i in range(iterations):
        k = i % n
        h0 = clock()
        host = effective_host(headers[k], "127.0.0.1", trusted)
        t0 = clock()
        target = classify(host)
        t1 = clock()
        route = await routes.get("sub:" + target.name)
        t2 = clock()
        async with engines.lease(route) as engine:
            t3 = clock()
            session = AsyncSession(engine, expire_on_commit=False, autoflush=True)  # as deps.get_tenant_session
            t4 = clock()
        t5 = clock()
        header.append(t0 - h0)
        cls.append(t1 - t0)
        get.append(t2 - t1)
        enter.append(t3 - t2)
        sess.append(t4 - t3)
        leave.append(t5 - t4)
        total.append(t5 - t0)
        del session
    if routes.stats["hit"] - hits_before != iterations or engines.created != created_before:
        raise RuntimeError("the route or engine cache missed during the warm-cache loop")
    return [
        _timing("hosts.classify(host)", cls),
        _timing('await routes.get("sub:"+name)  (cache hit)', get),
        _timing("engines.lease(route) enter", enter),
        _timing("AsyncSession(engine, ...)", sess),
        _timing("engines.lease(route) exit", leave),
        _timing("TOTAL host -> tenant -> session", total),
        _timing("effective_host(headers)  (middleware, not in total)", header, in_total=False),
    ]


async def measure_cold(platform: Platform, subdomains: list[str], n: int = 200) -> list[Timing]:
    """For context: what the warm path avoids (route misses, engine creation, a new connection)."""
    routes, engines = platform.routes, platform.engines
    clock = time.perf_counter_ns
    keys = ["sub:" + s for s in subdomains]
    redis_hit, db_load, engine_new, pooled_query, fresh_query = [], [], [], [], []
    for i in range(n):
        key = keys[i % len(keys)]
        routes.drop_local([key])
        t0 = clock()
        await routes.get(key)
        redis_hit.append(clock() - t0)
        await routes.invalidate([key])
        t0 = clock()
        route = await routes.get(key)
        db_load.append(clock() - t0)
        await engines.evict(route.id)
        t0 = clock()
        async with engines.lease(route):
            pass
        engine_new.append(clock() - t0)
    # A query through a warm pooled engine vs. through a brand-new engine (the naive approach),
    # on a few tenants so that the pooled engines stay within any connection budget.
    few = keys[:5]
    for key in few:
        route = await routes.get(key)
        async with engines.lease(route) as engine:  # warm the pool once per tenant
            async with AsyncSession(engine) as s:
                await s.execute(text("SELECT 1"))
    for i in range(n // 2):
        route = await routes.get(few[i % len(few)])
        t0 = clock()
        async with engines.lease(route) as engine:
            async with AsyncSession(engine) as s:
                await s.execute(text("SELECT 1"))
        pooled_query.append(clock() - t0)
        t0 = clock()
        engine = create_async_engine(route.dsn(platform.secrets.decrypt(route.db_password_enc)).url())
        try:
            async with AsyncSession(engine) as s:
                await s.execute(text("SELECT 1"))
        finally:
            await engine.dispose()
        fresh_query.append(clock() - t0)
    return [
        _timing("route cache miss, Redis hit", redis_hit, False),
        _timing("route cache miss, Redis miss -> main DB", db_load, False),
        _timing("engine cache miss (new AsyncEngine, no connect)", engine_new, False),
        _timing("lease + session + SELECT 1 on the pooled engine", pooled_query, False),
        _timing("new engine + connect + SELECT 1 + dispose (naive)", fresh_query, False),
    ]


async def prepare(admin: PgDsn, settings: Settings, warm_settings: Settings, args) -> dict:
    """Main database, tenants, then the in-process measurements on a fresh Platform."""
    t = time.perf_counter()
    await harness.build_main_database(admin, settings)
    progress.print(f"main database migrated ({time.perf_counter() - t:.1f} s)")

    t = time.perf_counter()
    platform = Platform(settings)
    try:
        tenants = await harness.provision_tenants(platform, args.tenants, args.products)
    finally:
        await platform.stop()
    progress.print(f"{len(tenants)} tenants provisioned with {args.products} products each "
                   f"({time.perf_counter() - t:.1f} s)")

    subs = [t.subdomain for t in tenants]
    # Fresh, like a server process that has just warmed up; its budget holds every tenant's pool
    # (a "warm cache" by definition: no engine is evicted while we time).
    platform = Platform(warm_settings)
    try:
        t = time.perf_counter()
        warm = await measure_resolve(platform, subs, args.iterations)
        cold = await measure_cold(platform, subs)
        progress.print(f"in-process resolution measured ({time.perf_counter() - t:.1f} s)")
    finally:
        await platform.stop()

    conn = await asyncpg.connect(**admin.asyncpg_kwargs())
    try:
        pg_version = (await conn.fetchval("SHOW server_version")).split()[0]
    finally:
        await conn.close()
    return {"tenants": tenants, "warm": warm, "cold": cold, "pg_version": pg_version}


# -- part 2: the app over HTTP -------------------------------------------------------------------
@dataclass
class Run:
    scenario: str
    load: LoadResult
    server: dict
    sessions: int


class Bench:
    """The load runs against one served configuration."""

    def __init__(self, args, load: harness.Load, admin: PgDsn, db_names: list[str]):
        self.args, self.load, self.admin, self.db_names = args, load, admin, db_names

    def run(self, server: harness.ServerProcess, scenario: str, path: str, hosts: list[str], connections: int,
            seconds: float, warmup: float, headers: list[dict[str, str]] | None = None) -> Run:
        """``headers``: one set per host (its tenant's Bearer token), rotated with the Host."""
        if warmup > 0:
            self.load.run(server.base_url, path, hosts, connections=connections, seconds=warmup, headers=headers)
        before = harness.run_async(harness.tenant_sessions(self.admin, self.db_names))
        server.probe("reset")
        result = self.load.run(server.base_url, path, hosts, connections=connections, seconds=seconds,
                               headers=headers)
        stats = server.probe("stats")
        time.sleep(0.3)  # let backends flush their session counters
        after = harness.run_async(harness.tenant_sessions(self.admin, self.db_names))
        progress.print(f"  {scenario}: {result.rps:,.0f} req/s, {result.non_2xx} non-2xx, "
                       f"{result.socket_errors} socket errors")
        if result.non_2xx or result.socket_errors:
            progress.print(f"  server log tail:\n{server.log_tail(8)}")
        return Run(scenario, result, stats, after - before)


def check_tenants(server: harness.ServerProcess, hosts: list[str], products: int,
                  auth: list[dict[str, str]]) -> None:
    """Every tenant answers with its own products to its own token before anything is timed; without a
    token, or with another tenant's, the API answers 401."""
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        for host, headers in zip(hosts, auth, strict=True):
            r = client.get("/api/v1/products", headers={"Host": host, **headers})
            if r.status_code != 200 or r.json()["total"] != products:
                raise RuntimeError(f"{host}: GET /api/v1/products -> {r.status_code} {r.text[:200]}")
            r = client.get("/api/v1/tenant", headers={"Host": host})
            if r.status_code != 200 or r.json()["subdomain"] != host.split(".")[0]:
                raise RuntimeError(f"{host}: GET /api/v1/tenant -> {r.status_code} {r.text[:200]}")
        for label, headers in (("no credentials", {}), ("another tenant's token", auth[1])):
            r = client.get("/api/v1/products", headers={"Host": hosts[0], **headers})
            if r.status_code != 401:
                raise RuntimeError(f"{hosts[0]}: GET /api/v1/products with {label} -> {r.status_code}, not 401")


# -- output --------------------------------------------------------------------------------------
def verdict(ok: bool) -> str:
    return "[bold green]met[/]" if ok else "[bold red]NOT met[/]"


git_state = harness.git_state


def header_line(args, configs: list[Settings], warm_budget: int, pg_version: str, load: harness.Load,
                loadavg: tuple[float, float]) -> str:
    s = configs[0]
    budgets = " and ".join(str(c.tenant_connection_budget) for c in configs)
    return (
        f"[bold]Machine[/]: {harness.machine_line()}; load average {loadavg[0]:.2f} at start / {loadavg[1]:.2f} "
        f"at end; uvicorn: 1 worker, own process; PostgreSQL {pg_version} (fsync=off, same machine); Redis "
        f"(route cache L2); polyflow at git {git_state()}.\n"
        f"[bold]Settings[/]: {args.tenants} tenants x {args.products} products; tenant_pool_size={s.tenant_pool_size}, "
        f"tenant_connection_budget={budgets} (HTTP runs; {warm_budget} in process), "
        f"engine_cache_size={s.engine_cache_size}, route_cache_ttl={s.route_cache_ttl:g} s, "
        f"budget_wait_seconds={s.budget_wait_seconds:g} s.\n"
        f"[bold]Load[/]: {load.describe()}, its own process{', 1 thread' if load.kind == 'wrk' else ''}, "
        f"{args.connections} connections, "
        f"{args.seconds:g} s per run after {args.warmup:g} s warm-up, {args.rounds} alternating round(s) "
        f"(req/s = median); Host rotated round-robin, each products request with its own tenant's "
        f"Bearer API token (role {', '.join(harness.BENCH_ROLES)}); in-process timings over "
        f"{args.iterations:,} iterations."
    )


def resolve_table(warm: list[Timing], cold: list[Timing], budget: int) -> Table:
    total = next(t for t in warm if t.label.startswith("TOTAL"))
    table = Table(title=f"1. Host -> tenant -> session, warm cache, in process (µs; tenant_connection_budget={budget},"
                        " every engine has a pooled connection, no query run)", title_justify="left")
    table.add_column("step")
    table.add_column("median µs", justify="right")
    table.add_column("p99 µs", justify="right")
    table.add_column("share of total median", justify="right")
    table.add_column("n", justify="right")
    for t in warm:
        is_total = t is total
        share = "" if is_total or not t.in_total else f"{100 * t.p50_us / total.p50_us:.0f}%"
        style = "bold" if is_total else ("dim" if not t.in_total else None)
        table.add_row(t.label, f"{t.p50_us:,.2f}", f"{t.p99_us:,.2f}", share, f"{t.n:,}", style=style,
                      end_section=is_total)
    table.add_section()
    for t in cold:
        table.add_row(f"[italic]context:[/] {t.label}", f"{t.p50_us:,.1f}", f"{t.p99_us:,.1f}", "", f"{t.n:,}",
                      style="dim")
    return table


def share_table(resolve_us: float, runs: list[Run]) -> Table:
    table = Table(title="1b. Share of a simple request (concurrency 1, Host rotated over all tenants)",
                  title_justify="left")
    for col in ("request", "req/s", "client median µs (wrk)", "server median µs (ASGI)", "resolve median µs",
                "resolve / client", "resolve / server", "engines created", "tenant DB sessions opened"):
        table.add_column(col, justify="left" if col == "request" else "right")
    for run in runs:
        client = run.load.p50_us
        server = run.server["p50_us"]
        table.add_row(run.scenario, f"{run.load.rps:,.0f}", f"{client:,.0f}", f"{server:,.0f}",
                      f"{resolve_us:,.1f}", f"{100 * resolve_us / client:.1f}%", f"{100 * resolve_us / server:.1f}%",
                      str(run.server["engines_created"]), f"{run.sessions:,}")
    return table


def rate(runs: list[Run]) -> float:
    return statistics.median(r.load.rps for r in runs)


def throughput_table(rows: list[tuple[str, list[Run], float]], connections: int) -> Table:
    table = Table(title=f"2. GET /api/v1/products, {connections} connections, one uvicorn worker",
                  title_justify="left")
    for col in ("scenario", "req/s", "vs single tenant (same budget)", "client p50 ms", "client p99 ms",
                "server p50 ms", "non-2xx", "socket err", "engines created", "tenant DB sessions opened",
                "budget peak"):
        table.add_column(col, justify="left" if col == "scenario" else "right")
    for label, runs, reference in rows:
        rps = rate(runs)
        each = " / ".join(f"{r.load.rps:,.0f}" for r in runs) if len(runs) > 1 else ""
        last = runs[-1]
        server_p50 = last.server["p50_us"]
        peak = "-" if "per request" in label else str(max(r.server["budget_peak"] for r in runs))
        table.add_row(
            label, f"{rps:,.0f}" + (f" ({each})" if each else ""), f"{rps / reference:.2f}x",
            f"{last.load.p50_us / 1000:,.2f}", f"{last.load.p99_us / 1000:,.2f}",
            "-" if server_p50 is None else f"{server_p50 / 1000:,.2f}",
            str(sum(r.load.non_2xx for r in runs)), str(sum(r.load.socket_errors for r in runs)),
            str(sum(r.server["engines_created"] for r in runs)), f"{sum(r.sessions for r in runs):,}", peak,
        )
    return table



def ratio_cells(numerator: float, denominator: float, target: float | None, digits: int) -> list[str]:
    """A ratio and its verdict; a mode that served nothing (a starved run on a loaded machine) says so."""
    if denominator <= 0:
        return ["n/a (0 req/s)", "[yellow]not measured[/]"]
    value = numerator / denominator
    return [f"{value:.{digits}f}x", "[dim]info[/]" if target is None else verdict(value >= target)]

def targets_table(resolve_us: float, results: list[tuple[int, float, float]], naive: float) -> Table:
    table = Table(title="Targets (ratios measured in this run)", title_justify="left")
    table.add_column("measure")
    table.add_column("target", justify="right")
    for budget, _, _ in results:
        table.add_column(f"budget {budget}: value", justify="right")
        table.add_column("verdict")
    row = ["warm-cache host -> tenant -> session, median", f"< {RESOLVE_TARGET_US:g} µs"]
    for _ in results:
        row += [f"{resolve_us:.1f} µs", verdict(resolve_us < RESOLVE_TARGET_US)]
    table.add_row(*row)
    row = ["spread over tenants / single tenant (req/s)", f">= {SPREAD_TARGET:g}x"]
    for _, spread, single in results:
        row += ratio_cells(spread, single, SPREAD_TARGET, 2)
    table.add_row(*row)
    row = ["spread over tenants / engine per request (req/s)", f">= {BASELINE_TARGET:g}x"]
    for _, spread, _ in results:
        row += ratio_cells(spread, naive, BASELINE_TARGET, 1)
    table.add_row(*row)
    row = ["single tenant / engine per request (req/s)", ""]
    for _, _, single in results:
        row += ratio_cells(single, naive, None, 1)
    table.add_row(*row)
    return table


# -- main ----------------------------------------------------------------------------------------
def main() -> int:
    args = parse_args()
    # SIGTERM unwinds like Ctrl-C, so the ExitStack stops what was started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.perf_counter()
    load_start = os.getloadavg()[0]
    with contextlib.ExitStack() as stack:
        workdir, load, admin, redis = harness.start_services(stack, prefix="pf-bench-", load_kind=args.load, say=progress.print)
        main_url = admin.with_database(harness.MAIN_DB).url("postgresql")
        # The budget asked for, and (if it is smaller) one that holds every tenant's pool: with
        # fewer slots than busy tenants, round-robin traffic evicts exactly the engine needed next.
        fit = args.tenants * args.pool_size
        budgets = [args.budget] + ([fit] if args.budget < fit else [])
        configs = [harness.bench_settings(main_url, redis.url, tenant_pool_size=args.pool_size,
                                          tenant_connection_budget=b) for b in budgets]
        warm_settings = configs[-1]
        prep = harness.run_async(prepare(admin, configs[0], warm_settings, args))
        tenants = prep["tenants"]
        hosts = [f"{t.subdomain}.{configs[0].root_domain}" for t in tenants]
        auth = [t.bearer() for t in tenants]  # rotates with `hosts`: each host gets its own tenant's token
        total_us = next(t for t in prep["warm"] if t.label.startswith("TOTAL")).p50_us
        bench = Bench(args, load, admin, [t.db_name for t in tenants])

        latency: list[Run] = []
        throughput: list[tuple[str, list[Run], float]] = []
        results: list[tuple[int, float, float]] = []
        for n, settings in enumerate(configs):
            budget = settings.tenant_connection_budget
            server = harness.ServerProcess(settings, workdir).start(stack)
            check_tenants(server, hosts, args.products, auth)
            progress.print(f"server with tenant_connection_budget={budget} up; every tenant answers its own token")
            if n == 0:  # public: no credentials
                latency.append(bench.run(server, "GET /api/v1/tenant (public)", "/api/v1/tenant", hosts, 1,
                                         args.latency_seconds, 1.0))
            latency.append(bench.run(server, f"GET /api/v1/products (Bearer, budget {budget})", "/api/v1/products",
                                     hosts, 1, args.latency_seconds, 1.0, auth))
            spread_runs, single_runs = [], []
            for _ in range(args.rounds):
                spread_runs.append(bench.run(server, f"spread, budget {budget}", "/api/v1/products", hosts,
                                             args.connections, args.seconds, args.warmup, auth))
                single_runs.append(bench.run(server, f"single, budget {budget}", "/api/v1/products", hosts[:1],
                                             args.connections, args.seconds, args.warmup, auth[:1]))
            server.stop()
            spread, single = rate(spread_runs), rate(single_runs)
            throughput.append((f"(a) spread over {args.tenants} tenants, budget {budget}", spread_runs, single))
            throughput.append((f"(b) single tenant, budget {budget}", single_runs, single))
            results.append((budget, spread, single))

        # (c): same server settings and load, TenantEngines swapped for a new engine per request.
        naive_server = harness.ServerProcess(configs[0], workdir, engine_per_request=True).start(stack)
        check_tenants(naive_server, hosts[:3], args.products, auth[:3])
        progress.print("engine-per-request server up")
        naive_runs = [bench.run(naive_server, "engine per request", "/api/v1/products", hosts, args.connections,
                                args.seconds, args.warmup, auth)]
        naive_server.stop()
        naive = rate(naive_runs)
        throughput.append((f"(c) engine per request, spread over {args.tenants} tenants", naive_runs,
                           results[0][2]))

        out.print()
        out.print(header_line(args, configs, warm_settings.tenant_connection_budget, prep["pg_version"], load,
                              (load_start, os.getloadavg()[0])))
        out.print()
        out.print(resolve_table(prep["warm"], prep["cold"], warm_settings.tenant_connection_budget))
        out.print(share_table(total_us, latency))
        out.print(throughput_table(throughput, args.connections))
        out.print(targets_table(total_us, results, naive))
        progress.print(f"done in {time.perf_counter() - started:.0f} s; stopping services")
    return 0


if __name__ == "__main__":
    sys.exit(main())
