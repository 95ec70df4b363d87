"""Benchmark: what signing in costs, and what authenticating every API request costs.

    python bench/auth.py                   # about 45 s on 2 cores
    python bench/auth.py --rounds 3 --seconds 6     # steadier ratios, about 2 minutes
    python bench/auth.py --help

Starts its own PostgreSQL cluster (temp folder, fsync off) and Redis, builds a fresh main database,
provisions `--tenants` tenants with the real code, each with a bench user (role viewer, a password and
an API token), serves the app in its own process (one uvicorn worker, `bench/serve.py`) and measures,
in one run:

1. `POST /api/v1/auth/login` (argon2id verify in a worker thread, a session row, an audit row) at
   concurrency 1 and 4 (`--login-concurrency`), `--login-seconds` each, Host rotated over the tenants:
   latency median / p95 (client and server side) and logins/s. The login throttles (per IP, per
   tenant) are raised for the bench server, or the run would measure 429s.
2. The per-request cost of authentication, the same load for each (wrk, `--connections`, Host and
   that host's own credentials rotated together): `GET /api/v1/tenant` (public: no credentials, no
   tenant-database query) vs `GET /api/v1/auth/me` with the tenant's Bearer API token vs with a
   session cookie from a real login, and `GET /api/v1/products?limit=1` with the token (authentication
   plus one catalog query).
3. For context, in process on a warm pooled connection: the credential lookups themselves (the real
   `auth._from_token` / `auth._from_cookie`: one indexed SELECT by the SHA-256 of the token, joined to
   users) against a bare `SELECT 1` round trip.

Everything it starts is stopped, and its temp folders removed, also on error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import signal
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg  # noqa: E402
import httpx  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession  # noqa: E402

from bench import harness  # noqa: E402
from bench.harness import LoadResult, TenantInfo, percentile  # noqa: E402
from polyflow.config import Settings  # noqa: E402
from polyflow.erp.identity import auth  # noqa: E402
from polyflow.kit.passwords import _hasher  # noqa: E402
from polyflow.kit.db import PgDsn  # noqa: E402
from polyflow.platform.runtime import Platform  # noqa: E402

# Piped output (a log, a report) gets wide tables instead of Rich's 80-column default.
out = Console() if sys.stdout.isatty() else Console(width=180)
progress = Console(stderr=True, style="dim")

# The bench server's login throttles: high enough that no attempt of this run is refused.
LOGIN_LIMIT = 1_000_000


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tenants", type=int, default=3, help="tenants (Host and credentials rotate over them)")
    p.add_argument("--login-seconds", type=float, default=4, help="duration of each login run")
    p.add_argument("--login-concurrency", type=lambda v: [int(x) for x in v.split(",") if x], default=[1, 4],
                   help="concurrent logins per run, comma-separated (default 1,4)")
    p.add_argument("--seconds", type=float, default=4, help="duration of each measured request run")
    p.add_argument("--warmup", type=float, default=1, help="warm-up before each request run")
    p.add_argument("--connections", type=int, default=16, help="connections of the request runs")
    p.add_argument("--rounds", type=int, default=1, help="alternate the request scenarios this many times")
    p.add_argument("--iterations", type=int, default=2_000, help="in-process lookups to time")
    p.add_argument("--load", choices=("auto", "wrk", "python"), default="auto")
    args = p.parse_args()
    if not 1 <= args.tenants <= 999:
        p.error("--tenants must be 1..999")
    if not args.login_concurrency or min(args.login_concurrency) < 1:
        p.error("--login-concurrency: positive integers, e.g. 1,4")
    return args


# -- 1. login ------------------------------------------------------------------------------------
@dataclass
class LoginRun:
    concurrency: int
    latencies: list[float]  # seconds, sorted
    seconds: float
    non_2xx: int
    errors: int
    server_p50_us: float | None

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


async def _logins(base_url: str, tenants: list[TenantInfo], hosts: list[str], concurrency: int,
                  seconds: float) -> tuple[list[float], float, int, int]:
    """Fixed-duration logins from `concurrency` workers; (latencies, elapsed, non-2xx, errors)."""
    rotation = itertools.cycle(zip(hosts, tenants))
    latencies: list[float] = []
    counts = {"non_2xx": 0, "errors": 0}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:
        started = time.perf_counter()
        deadline = started + seconds

        async def worker() -> None:
            while time.perf_counter() < deadline:
                host, tenant = next(rotation)
                t0 = time.perf_counter()
                try:
                    r = await client.post("/api/v1/auth/login", headers={"Host": host},
                                          json={"email": tenant.email, "password": tenant.password})
                except httpx.HTTPError:
                    counts["errors"] += 1
                    continue
                finally:
                    client.cookies.clear()  # each login starts signed out (no session cookie sent)
                latencies.append(time.perf_counter() - t0)
                if r.status_code != 200:
                    counts["non_2xx"] += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return sorted(latencies), elapsed, counts["non_2xx"], counts["errors"]


def measure_logins(server: harness.ServerProcess, tenants: list[TenantInfo], hosts: list[str],
                   concurrency: int, seconds: float) -> LoginRun:
    server.probe("reset")
    latencies, elapsed, non_2xx, errors = harness.run_async(
        _logins(server.base_url, tenants, hosts, concurrency, seconds))
    stats = server.probe("stats")
    run = LoginRun(concurrency, latencies, elapsed, non_2xx, errors, stats["p50_us"])
    progress.print(f"  login, concurrency {concurrency}: {run.rate:,.1f} logins/s, median "
                   f"{percentile(latencies, 50) * 1000:,.1f} ms, {non_2xx} non-2xx, {errors} errors")
    if non_2xx or errors:
        progress.print(f"  server log tail:\n{server.log_tail(8)}")
    return run


def sign_in(server: harness.ServerProcess, tenants: list[TenantInfo], hosts: list[str]) -> list[str]:
    """One real login per tenant; checks the credentials work (and that none is no access) before timing.
    Returns each tenant's session cookie value."""
    cookies = []
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        for host, tenant in zip(hosts, tenants, strict=True):
            client.cookies.clear()
            r = client.post("/api/v1/auth/login", headers={"Host": host},
                            json={"email": tenant.email, "password": tenant.password})
            cookie = r.cookies.get(auth.SESSION_COOKIE)
            if r.status_code != 200 or not cookie:
                raise RuntimeError(f"{host}: POST /api/v1/auth/login -> {r.status_code} {r.text[:200]}")
            client.cookies.clear()
            checks = (("Bearer token", tenant.bearer(), 200, "token"),
                      ("session cookie", {"Cookie": f"{auth.SESSION_COOKIE}={cookie}"}, 200, "session"),
                      ("no credentials", {}, 401, None))
            for label, headers, status, via in checks:
                r = client.get("/api/v1/auth/me", headers={"Host": host, **headers})
                if r.status_code != status or (via and r.json().get("via") != via):
                    raise RuntimeError(f"{host}: GET /api/v1/auth/me with {label} -> {r.status_code} {r.text[:200]}")
            cookies.append(cookie)
    return cookies


# -- 2. authenticated requests -------------------------------------------------------------------
@dataclass
class Scenario:
    label: str
    credentials: str
    path: str
    headers: list[dict[str, str]] | None


@dataclass
class RequestRun:
    load: LoadResult
    server_p50_us: float | None


def request_run(load: harness.Load, server: harness.ServerProcess, scenario: Scenario, hosts: list[str],
                args) -> RequestRun:
    if args.warmup > 0:
        load.run(server.base_url, scenario.path, hosts, connections=args.connections, seconds=args.warmup,
                 headers=scenario.headers)
    server.probe("reset")
    result = load.run(server.base_url, scenario.path, hosts, connections=args.connections, seconds=args.seconds,
                      headers=scenario.headers)
    stats = server.probe("stats")
    progress.print(f"  {scenario.label} ({scenario.credentials}): {result.rps:,.0f} req/s, {result.non_2xx} non-2xx, "
                   f"{result.socket_errors} socket errors")
    if result.non_2xx or result.socket_errors:
        progress.print(f"  server log tail:\n{server.log_tail(8)}")
    return RequestRun(result, stats["p50_us"])


# -- 3. in process -------------------------------------------------------------------------------
@dataclass
class Timing:
    label: str
    p50_us: float
    p99_us: float
    n: int


async def measure_lookups(settings: Settings, tenant: TenantInfo, cookie: str, iterations: int) -> list[Timing]:
    """The credential lookups of `auth` on one warm pooled connection, against a bare round trip."""
    platform = Platform(settings)
    try:
        route = await platform.routes.get("sub:" + tenant.subdomain)
        idle = timedelta(minutes=settings.session_idle_minutes)
        async with platform.engines.lease(route) as engine:
            async with AsyncSession(engine, expire_on_commit=False) as session:
                steps = {
                    "SELECT 1 (a round trip on the pooled connection)":
                        lambda now: session.execute(text("SELECT 1")),
                    "API token: auth._from_token (SHA-256 + SELECT api_tokens JOIN users)":
                        lambda now: auth._from_token(session, route, tenant.token, now),
                    "session cookie: auth._from_cookie (SHA-256 + SELECT sessions JOIN users)":
                        lambda now: auth._from_cookie(session, route, cookie, now, idle),
                }
                timings = []
                clock = time.perf_counter_ns
                for label, step in steps.items():
                    for _ in range(50):  # warm: statement caches, the one last-used/last-seen write
                        await step(datetime.now(timezone.utc))
                    ns = []
                    for _ in range(iterations):
                        now = datetime.now(timezone.utc)
                        t0 = clock()
                        result = await step(now)
                        ns.append(clock() - t0)
                        if result is None:
                            raise RuntimeError(f"{label}: the credential was not accepted")
                    s = sorted(ns)
                    timings.append(Timing(label, percentile(s, 50) / 1000, percentile(s, 99) / 1000, len(s)))
                    session.expunge_all()
                await session.rollback()
    finally:
        await platform.stop()
    return timings


# -- setup ---------------------------------------------------------------------------------------
async def prepare(admin: PgDsn, settings: Settings, count: int) -> tuple[list[TenantInfo], str]:
    t = time.perf_counter()
    await harness.build_main_database(admin, settings)
    platform = Platform(settings)
    try:
        tenants = await harness.provision_tenants(platform, count, 5, password=harness.BENCH_PASSWORD)
    finally:
        await platform.stop()
    progress.print(f"main database migrated, {count} tenant(s) provisioned, each with a bench user "
                   f"({time.perf_counter() - t:.1f} s)")
    conn = await asyncpg.connect(**admin.asyncpg_kwargs())
    try:
        pg_version = (await conn.fetchval("SHOW server_version")).split()[0]
    finally:
        await conn.close()
    return tenants, pg_version


# -- output --------------------------------------------------------------------------------------
def header_line(args, settings: Settings, pg_version: str, load: harness.Load,
                loadavg: tuple[float, float]) -> str:
    return (
        f"[bold]Machine[/]: {harness.machine_line()} (1 worker, own process); load average {loadavg[0]:.2f} at "
        f"start / {loadavg[1]:.2f} at end; PostgreSQL {pg_version} (fsync=off, same machine); Redis; "
        f"polyflow at git {harness.git_state()}.\n"
        f"[bold]Settings[/]: {args.tenants} tenant(s), one bench user each (roles "
        f"{', '.join(harness.BENCH_ROLES)}, a password and an API token); argon2id time_cost={_hasher.time_cost}, "
        f"memory_cost={_hasher.memory_cost} KiB, parallelism={_hasher.parallelism}; login throttles raised to "
        f"{LOGIN_LIMIT:,}/min (per IP and per tenant) for this run; tenant_pool_size={settings.tenant_pool_size}, "
        f"tenant_connection_budget={settings.tenant_connection_budget}.\n"
        f"[bold]Load[/]: logins from asyncio + httpx in this process, {args.login_seconds:g} s per concurrency; "
        f"requests from {load.describe()}, its own process, {args.connections} connections, {args.seconds:g} s per "
        f"run after {args.warmup:g} s warm-up, {args.rounds} alternating round(s) (req/s = median); Host and its "
        f"own credentials rotated round-robin; in-process lookups over {args.iterations:,} iterations."
    )


def login_table(runs: list[LoginRun]) -> Table:
    table = Table(title="1. POST /api/v1/auth/login (argon2id verify in a thread + session and audit rows)",
                  title_justify="left")
    for col in ("concurrency", "logins/s", "vs concurrency 1", "median ms", "p95 ms", "max ms",
                "server median ms", "logins", "non-2xx", "errors"):
        table.add_column(col, justify="right")
    base = runs[0].rate
    for run in runs:
        s = run.latencies
        table.add_row(str(run.concurrency), f"{run.rate:,.1f}", f"{run.rate / base:.2f}x" if base else "-",
                      f"{percentile(s, 50) * 1000:,.1f}", f"{percentile(s, 95) * 1000:,.1f}",
                      f"{s[-1] * 1000:,.1f}" if s else "-",
                      "-" if run.server_p50_us is None else f"{run.server_p50_us / 1000:,.1f}",
                      f"{len(s):,}", str(run.non_2xx), str(run.errors))
    return table


def rate(runs: list[RequestRun]) -> float:
    return statistics.median(r.load.rps for r in runs)


def server_p50(runs: list[RequestRun]) -> float:
    return statistics.median(r.server_p50_us for r in runs if r.server_p50_us is not None)


def per_request_us(runs: list[RequestRun], reference: list[RequestRun]) -> float:
    """Extra worker time per request against the reference (µs), from the saturated rates."""
    return 1e6 / rate(runs) - 1e6 / rate(reference)


def request_table(scenarios: list[Scenario], runs: list[list[RequestRun]], connections: int) -> Table:
    table = Table(title=f"2. Per-request cost of authentication, {connections} connections, one uvicorn worker",
                  title_justify="left")
    # The worker is saturated, so 1 / (req/s) is its time per request; server p50 includes queueing.
    for col in ("request", "credentials", "req/s", "vs public /tenant", "worker µs/request (1 / req/s)",
                "- public", "client p50 ms", "client p99 ms", "server p50 ms", "non-2xx", "socket err"):
        table.add_column(col, justify="left" if col in ("request", "credentials") else "right",
                         no_wrap=col == "request")
    ref_rate = rate(runs[0])
    for k, (sc, rs) in enumerate(zip(scenarios, runs, strict=True)):
        each = " / ".join(f"{r.load.rps:,.0f}" for r in rs) if len(rs) > 1 else ""
        last = rs[-1].load
        table.add_row(
            sc.label, sc.credentials, f"{rate(rs):,.0f}" + (f" ({each})" if each else ""),
            f"{rate(rs) / ref_rate:.2f}x", f"{1e6 / rate(rs):,.0f}",
            "" if k == 0 else f"{per_request_us(rs, runs[0]):+,.0f}",
            f"{last.p50_us / 1000:,.2f}", f"{last.p99_us / 1000:,.2f}", f"{server_p50(rs) / 1000:,.2f}",
            str(sum(r.load.non_2xx for r in rs)), str(sum(r.load.socket_errors for r in rs)),
            style="dim" if k == 0 else None,
        )
    return table


def lookup_table(timings: list[Timing]) -> Table:
    table = Table(title="3. Context, in process: the credential lookup on a warm pooled connection (µs)",
                  title_justify="left")
    for col in ("step", "median µs", "p99 µs", "over SELECT 1", "n"):
        table.add_column(col, justify="left" if col == "step" else "right")
    floor = timings[0].p50_us
    for t in timings:
        table.add_row(t.label, f"{t.p50_us:,.0f}", f"{t.p99_us:,.0f}",
                      "" if t is timings[0] else f"{t.p50_us / floor:.2f}x", f"{t.n:,}")
    return table


def summary_table(logins: list[LoginRun], runs: list[list[RequestRun]], lookups: list[Timing]) -> Table:
    table = Table(title="Summary (ratios from this run; no targets are set for these: [dim]info[/])",
                  title_justify="left")
    for col in ("measure", "value", ""):
        table.add_column(col)
    first = logins[0]
    table.add_row(f"login median, concurrency {first.concurrency}", f"{percentile(first.latencies, 50) * 1000:.1f} ms",
                  "[dim]info[/] (argon2id: ~50 ms of CPU per hash)")
    top = max(logins, key=lambda r: r.rate)
    table.add_row(f"logins/s, best (concurrency {top.concurrency})", f"{top.rate:.1f}/s",
                  "[dim]info[/] (bounded by cores x 1/argon2id)")
    public, token, cookie, products = runs  # the scenarios, in order
    table.add_row("/auth/me with a Bearer token / public /tenant (req/s)",
                  f"{rate(token) / rate(public):.2f}x",
                  f"[dim]info[/] ({per_request_us(token, public):+,.0f} µs of worker time per request: a tenant-DB "
                  "transaction, the token lookup, the user out)")
    table.add_row("/auth/me with a session cookie / with a Bearer token (req/s)",
                  f"{rate(cookie) / rate(token):.2f}x", "[dim]info[/]")
    lookup, worker = lookups[1].p50_us, 1e6 / rate(products)
    table.add_row("token lookup (in process) / worker time of products?limit=1 with a token",
                  f"{100 * lookup / worker:.1f}%", f"[dim]info[/] ({lookup:,.0f} µs of {worker:,.0f} µs)")
    return table


# -- main ----------------------------------------------------------------------------------------
def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind like Ctrl-C: the ExitStack stops all
    started = time.perf_counter()
    load_start = os.getloadavg()[0]
    with contextlib.ExitStack() as stack:
        workdir, load, admin, redis = harness.start_services(stack, prefix="pf-bench-auth-", load_kind=args.load, say=progress.print)
        settings = harness.bench_settings(admin.with_database(harness.MAIN_DB).url("postgresql"), redis.url,
                                          login_ip_per_minute=LOGIN_LIMIT, login_tenant_per_minute=LOGIN_LIMIT)
        tenants, pg_version = harness.run_async(prepare(admin, settings, args.tenants))
        hosts = [f"{t.subdomain}.{settings.root_domain}" for t in tenants]

        server = harness.ServerProcess(settings, workdir).start(stack)
        cookies = sign_in(server, tenants, hosts)
        progress.print("server up; every tenant signs in, and answers its token and its cookie (401 without)")

        logins = [measure_logins(server, tenants, hosts, c, args.login_seconds) for c in args.login_concurrency]

        scenarios = [
            Scenario("GET /api/v1/tenant", "none (public)", "/api/v1/tenant", None),
            Scenario("GET /api/v1/auth/me", "Bearer API token", "/api/v1/auth/me", [t.bearer() for t in tenants]),
            Scenario("GET /api/v1/auth/me", "session cookie", "/api/v1/auth/me",
                     [{"Cookie": f"{auth.SESSION_COOKIE}={c}"} for c in cookies]),
            Scenario("GET /api/v1/products?limit=1", "Bearer API token", "/api/v1/products?limit=1",
                     [t.bearer() for t in tenants]),
        ]
        runs: list[list[RequestRun]] = [[] for _ in scenarios]
        for _ in range(args.rounds):  # alternating, so every scenario sees the same machine state
            for k, sc in enumerate(scenarios):
                runs[k].append(request_run(load, server, sc, hosts, args))
        server.stop()

        t = time.perf_counter()
        lookups = harness.run_async(measure_lookups(settings, tenants[0], cookies[0], args.iterations))
        progress.print(f"in-process lookups measured ({time.perf_counter() - t:.1f} s)")

        out.print()
        out.print(header_line(args, settings, pg_version, load, (load_start, os.getloadavg()[0])))
        out.print()
        out.print(login_table(logins))
        out.print(request_table(scenarios, runs, args.connections))
        out.print(lookup_table(lookups))
        out.print(summary_table(logins, runs, lookups))
        progress.print(f"done in {time.perf_counter() - started:.0f} s; stopping services")
    return 0


if __name__ == "__main__":
    sys.exit(main())
