"""Benchmark: 1,000 tenants on one PostgreSQL server started with max_connections=100.

    python bench/thousand.py                      # 1,000 tenants, 2 workers, 20 s per run
    python bench/thousand.py --tenants 200 --seconds 5 --only new     # a quick look

Starts its own PostgreSQL cluster (``max_connections=100``, fsync off: the connection work is what is
measured, not the disk) and Redis. The fleet is built outside the timing with `bench/fleet.py`'s
`build_fleet` (clones of a frozen prototype, registered in one insert); each tenant then gets a bench
user with an API token (written straight into its database).

Each strategy is served by the real app, ``uvicorn --workers 2`` (its own processes), and measured with
wrk (one thread, ``--connections`` connections) on ``GET /api/v1/products`` with each tenant's token:

  * hot: one tenant only;
  * round-robin: the Host (and its token) rotated over all tenants, so at any moment the requests are for
    ``--connections`` different databases and no tenant comes back before 999 others have been served.

Strategies (one uvicorn pair each, same settings otherwise):
  * old: `TenantEngines` as of git %(legacy)s (loaded from git), per-process budget of ``--budget``;
  * new: the current `TenantEngines` (one idle connection closed at a time, node-wide budget of
    ``--workers x --budget`` shared by the workers through a file lock).

Columns: requests/s, the round-robin/hot ratio, errors (non-2xx and socket errors), the most tenant
connections `pg_stat_activity` showed (polled every 5 ms during both runs), each worker's resident
memory (VmRSS) after the round-robin run, and the engine counters of each worker.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg  # noqa: E402
import httpx  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from bench import harness  # noqa: E402
from polyflow.kit.db import PgDsn  # noqa: E402
from polyflow.platform.localpg import LocalCluster, free_port  # noqa: E402

out = Console() if sys.stdout.isatty() else Console(width=170)
# engines.py before issue 14 (strict LRU of engines, whole pools trimmed, a budget per process).
LEGACY_COMMIT = "12d8f24"
LEGACY_PATH = "src/polyflow/platform/tenancy/engines.py"
TARGET_RATIO = 0.5
MAX_CONNECTIONS = 100
STRATEGIES = ("old", "new")


# -- the app under test: a factory for `uvicorn --factory --workers N` ---------------------------------
def make_app():
    """`uvicorn --factory bench.thousand:make_app`: the real app; POLYFLOW_BENCH_ENGINES picks the engines.

    ``legacy:<file>`` swaps the platform's TenantEngines for the class in that file (the old code from
    git). Each worker writes its engine counters to POLYFLOW_BENCH_STATS_DIR/<pid>.json when asked by
    ``GET /__bench/dump`` (answered by whichever worker gets it) and at exit.
    """
    from polyflow.config import Settings
    from polyflow.main import create_app

    settings = Settings()
    app = create_app(settings)
    platform = app.state.platform
    choice = os.environ.get("POLYFLOW_BENCH_ENGINES", "")
    if choice.startswith("legacy:"):
        spec = importlib.util.spec_from_file_location("legacy_engines", choice.removeprefix("legacy:"))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        platform.engines = module.TenantEngines.from_settings(settings, platform.secrets.decrypt)
    stats_dir = Path(os.environ["POLYFLOW_BENCH_STATS_DIR"])

    def dump() -> None:
        engines = platform.engines
        stats = dict(getattr(engines, "stats", {}) or {})
        stats.setdefault("created", getattr(engines, "created", 0))
        stats.setdefault("trimmed", getattr(engines, "trimmed", 0))
        budget = engines.budget
        stats.update(peak=budget.peak, open=engines.open_connections, cached=len(engines),
                     limit=budget.limit)
        (stats_dir / f"{os.getpid()}.json").write_text(json.dumps(stats))

    import atexit

    def dump_at_exit() -> None:
        with contextlib.suppress(Exception):
            dump()

    atexit.register(dump_at_exit)

    async def probe(scope, receive, send):
        if scope["type"] == "http" and scope["path"] == "/__bench/dump":
            dump()
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
            await send({"type": "http.response.body", "body": b"ok"})
            return
        await app(scope, receive, send)

    return probe


# -- PostgreSQL with max_connections=100 ----------------------------------------------------------
def start_small_cluster(stack: contextlib.ExitStack, max_connections: int) -> tuple[LocalCluster, PgDsn]:
    """LocalCluster (its folder layout, scram everywhere) started with our max_connections."""
    root = Path(tempfile.mkdtemp(prefix="pf-bench-1k-pg-"))
    os.chmod(root, 0o755)
    stack.callback(shutil.rmtree, root, ignore_errors=True)
    cluster = LocalCluster(root, free_port(), fast=True)
    cluster.init()
    cluster._own(cluster.run_dir, 0o700)
    cluster._write_hba()
    if cluster.log_file.exists() is False:
        cluster.log_file.touch()
    if os.geteuid() == 0:
        shutil.chown(cluster.log_file, "postgres", "postgres")
    opts = [f"-p {cluster.port}", f"-k {cluster.run_dir}", "-c listen_addresses=127.0.0.1",
            f"-c max_connections={max_connections}", "-c shared_buffers=128MB",
            "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
    stack.callback(cluster.stop)
    cluster._run(str(cluster.bin_dir / "pg_ctl"), "-D", str(cluster.data_dir), "-l", str(cluster.log_file),
                 "-w", "-t", "60", "start", "-o", " ".join(opts))
    return cluster, cluster.dsn()


async def add_tokens(admin: PgDsn, main_db: str, subs: list[str]) -> dict[str, str]:
    """A viewer with an API token in every tenant's database (as the API would store it)."""
    main = await asyncpg.connect(**admin.with_database(main_db).asyncpg_kwargs())
    try:
        rows = await main.fetch("SELECT id, subdomain, db_name FROM tenants WHERE subdomain = ANY($1::text[])", subs)
    finally:
        await main.close()
    queue: asyncio.Queue = asyncio.Queue()
    for row in rows:
        queue.put_nowait(row)
    tokens: dict[str, str] = {}

    async def worker() -> None:
        while not queue.empty():
            row = queue.get_nowait()
            conn = await asyncpg.connect(**admin.with_database(row["db_name"]).asyncpg_kwargs())
            try:
                tokens[row["subdomain"]] = await harness.add_user(conn, row["id"], f"bench@{row['subdomain']}.test")
            finally:
                await conn.close()

    await asyncio.gather(*(worker() for _ in range(6)))
    return tokens


# -- watching pg_stat_activity ------------------------------------------------------------------
class ActivityWatch:
    """Polls pg_stat_activity (own thread, own connection) for the tenant connections of the app."""

    def __init__(self, admin: PgDsn, interval: float = 0.005):
        self.admin, self.interval = admin, interval
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "ActivityWatch":
        ready = threading.Event()

        def run() -> None:
            async def loop() -> None:
                conn = await asyncpg.connect(**self.admin.asyncpg_kwargs())
                ready.set()
                try:
                    while not self._stop.is_set():
                        n = await conn.fetchval("SELECT count(*) FROM pg_stat_activity "
                                                "WHERE application_name LIKE 'polyflow:%'")
                        self.peak = max(self.peak, n)
                        self.samples += 1
                        await asyncio.sleep(self.interval)
                finally:
                    await conn.close()
            asyncio.run(loop())

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)


# -- the server pair ------------------------------------------------------------------------------
@dataclass
class Server:
    env: dict[str, str]
    workdir: Path
    workers: int
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Server":
        log = open(self.workdir / f"server-{self.port}.log", "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "bench.thousand:make_app", "--host", "127.0.0.1",
             "--port", str(self.port), "--workers", str(self.workers), "--log-level", "warning",
             "--no-access-log", "--timeout-worker-healthcheck", "60"],  # (5 s kills workers starting on a busy box)
            env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=str(harness.ROOT), start_new_session=True)
        log.close()
        deadline = time.monotonic() + 240  # two workers importing the app on a busy 2-core machine
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                # Every worker has finished its start-up once each has answered the probe.
                if len(self.worker_pids()) >= self.workers and len(self.engine_stats(tries=20)) >= self.workers:
                    return self
            time.sleep(0.2)
        raise RuntimeError(f"server did not start:\n{self.log_tail()}")

    def worker_pids(self) -> list[int]:
        """The uvicorn worker processes (children of the supervisor that run the app)."""
        found = []
        for child in Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split():
            with contextlib.suppress(OSError):
                if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                    found.append(int(child))
        return found

    def rss_mb(self) -> list[float]:
        sizes = []
        for pid in self.worker_pids():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(int(line.split()[1]) / 1024)
        return sizes

    def engine_stats(self, tries: int = 400) -> list[dict]:
        """Each worker's counters: ask until every worker has answered /__bench/dump once."""
        stats_dir = Path(self.env["POLYFLOW_BENCH_STATS_DIR"])
        for f in stats_dir.glob("*.json"):
            f.unlink()
        pids = set(self.worker_pids())
        with httpx.Client(base_url=self.base_url, timeout=5,
                          limits=httpx.Limits(max_keepalive_connections=0)) as client:
            for _ in range(tries):
                client.get("/__bench/dump")
                if {int(f.stem) for f in stats_dir.glob("*.json")} >= pids:
                    break
        return [json.loads(f.read_text()) for f in sorted(stats_dir.glob("*.json")) if int(f.stem) in pids]

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)

    def log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join((self.workdir / f"server-{self.port}.log").read_text(errors="replace")
                             .splitlines()[-lines:])
        return ""


# -- CPU spent per request (the machine is shared: req/s alone moves with everybody else's load) -----------
TICK = os.sysconf("SC_CLK_TCK")


def _cpu(pid: int, children: bool = False) -> float:
    """utime + stime of a process (+ its reaped children's with ``children``), seconds; 0 if gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12]) + ((int(fields[13]) + int(fields[14])) if children else 0)
    return ticks / TICK


def cpu_snapshot(server: "Server", cluster: LocalCluster) -> tuple[float, float]:
    """(app workers' CPU, PostgreSQL's CPU) so far. PostgreSQL's is the postmaster's with its reaped children
    (every backend that has exited: a round-robin connection closed) plus its live children."""
    app = sum(_cpu(pid) for pid in server.worker_pids())
    postmaster = int((cluster.data_dir / "postmaster.pid").read_text().split()[0])
    pg = _cpu(postmaster, children=True)
    with contextlib.suppress(OSError):
        for child in Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split():
            pg += _cpu(int(child))
    return app, pg


@dataclass
class Phase:
    load: harness.LoadResult
    app_cpu: float
    pg_cpu: float

    @property
    def cpu_ms(self) -> float:
        """CPU (app + PostgreSQL) per request, ms."""
        n = self.load.requests
        return (self.app_cpu + self.pg_cpu) / n * 1000 if n else float("nan")


def timed(server: "Server", cluster: LocalCluster, run) -> Phase:
    app0, pg0 = cpu_snapshot(server, cluster)
    result = run()
    app1, pg1 = cpu_snapshot(server, cluster)
    return Phase(result, app1 - app0, pg1 - pg0)


@dataclass
class Result:
    strategy: str
    hot_phase: Phase
    spread_phase: Phase
    peak: int
    rss: list[float]
    stats: list[dict]

    @property
    def hot(self) -> harness.LoadResult:
        return self.hot_phase.load

    @property
    def spread(self) -> harness.LoadResult:
        return self.spread_phase.load

    @property
    def errors(self) -> int:
        return sum(r.non_2xx + r.socket_errors for r in (self.hot, self.spread))


def measure(strategy: str, env: dict[str, str], args, load: harness.Load, admin: PgDsn, workdir: Path,
            hosts: list[str], auth: list[dict[str, str]], cluster: LocalCluster) -> Result:
    server = Server(env, workdir, args.workers).start()
    try:
        path = "/api/v1/products"
        # Warm-up: the hot tenant, then one pass over every tenant (first requests pay imports, caches).
        load.run(server.base_url, path, hosts[:1], connections=args.connections, seconds=2, headers=auth[:1])
        load.run(server.base_url, path, hosts, connections=args.connections, seconds=args.warmup, headers=auth)
        with ActivityWatch(admin) as watch:
            hot_phase = timed(server, cluster, lambda: load.run(
                server.base_url, path, hosts[:1], connections=args.connections, seconds=args.seconds,
                headers=auth[:1]))
            spread_phase = timed(server, cluster, lambda: load.run(
                server.base_url, path, hosts, connections=args.connections, seconds=args.seconds, headers=auth))
        hot, spread = hot_phase.load, spread_phase.load
        rss = server.rss_mb()
        stats = server.engine_stats()
        if hot.non_2xx or spread.non_2xx or hot.socket_errors or spread.socket_errors:
            out.print(f"[yellow]{strategy}: errors; server log tail:[/]\n{server.log_tail(12)}")
        result = Result(strategy, hot_phase, spread_phase, watch.peak, rss, stats)
        out.print(f"  {strategy}: hot {hot.rps:,.0f} req/s ({hot_phase.cpu_ms:.1f} ms CPU/req), round-robin "
                  f"{spread.rps:,.0f} req/s ({spread_phase.cpu_ms:.1f} ms CPU/req), errors {result.errors}, "
                  f"peak {watch.peak} connections")
        return result
    finally:
        server.stop()


def strategy_env(strategy: str, base: dict[str, str], args, legacy_file: Path, workdir: Path) -> dict[str, str]:
    env = dict(base)
    stats_dir = workdir / f"stats-{strategy}"
    stats_dir.mkdir(exist_ok=True)
    env["POLYFLOW_BENCH_STATS_DIR"] = str(stats_dir)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(harness.ROOT), base.get("PYTHONPATH")]))
    if strategy == "old":
        env["POLYFLOW_BENCH_ENGINES"] = f"legacy:{legacy_file}"
        env["POLYFLOW_TENANT_CONNECTION_BUDGET"] = str(args.budget)
        env["POLYFLOW_ENGINE_CACHE_SIZE"] = "200"  # its default then (an engine cost ~220 KiB)
    else:
        env["POLYFLOW_BENCH_ENGINES"] = "current"
        env["POLYFLOW_TENANT_CONNECTION_BUDGET"] = str(args.budget)
        env["POLYFLOW_NODE_CONNECTION_BUDGET"] = str(args.budget * args.workers)
        env["POLYFLOW_NODE_BUDGET_DIR"] = str(workdir / "node-budget")
    return env


def table(results: list[Result], args) -> Table:
    t = Table(title=f"{args.tenants:,} tenants, max_connections={MAX_CONNECTIONS}, {args.workers} uvicorn workers, "
                    f"wrk -c{args.connections}, {args.seconds:g} s per run, GET /api/v1/products")
    for col in ("strategy", "hot req/s", "round-robin req/s", "ratio", "CPU ms/req hot / round-robin (app+pg)",
                "CPU ratio", "errors", "max conns (pg_stat_activity)",
                "budget", "RSS per worker (MB)", "per worker: peak / created / disposed / trimmed / waits / refused"):
        t.add_column(col, justify="left" if col in ("strategy",) else "right")
    for r in results:
        ratio = r.spread.rps / r.hot.rps if r.hot.rps else 0
        budget = f"{args.budget} per worker" if r.strategy == "old" else f"{args.budget * args.workers} per node"
        counters = "; ".join(
            f"{s.get('peak')} / {s.get('created', 0)} / {s.get('disposed', '-')} / {s.get('trimmed', 0)} / "
            f"{s.get('waits', '-')} / {s.get('refused', '-')}" for s in r.stats)
        h, sp = r.hot_phase, r.spread_phase
        cpu_ratio = h.cpu_ms / sp.cpu_ms if sp.cpu_ms else 0
        t.add_row(r.strategy, f"{r.hot.rps:,.0f}", f"{r.spread.rps:,.0f}",
                  f"[{'green' if ratio >= TARGET_RATIO else 'red'}]{ratio:.2f}x[/]",
                  f"{h.cpu_ms:.1f} / {sp.cpu_ms:.1f} ({h.app_cpu / h.load.requests * 1000:.1f}+"
                  f"{h.pg_cpu / h.load.requests * 1000:.1f} / {sp.app_cpu / sp.load.requests * 1000:.1f}+"
                  f"{sp.pg_cpu / sp.load.requests * 1000:.1f})",
                  f"{cpu_ratio:.2f}x", str(r.errors), str(r.peak),
                  budget, " / ".join(f"{m:.0f}" for m in r.rss), counters)
    return t


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__ % {"legacy": LEGACY_COMMIT},
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tenants", type=int, default=1000)
    p.add_argument("--products", type=int, default=20, help="products per tenant (the page returns them)")
    p.add_argument("--workers", type=int, default=2, help="uvicorn workers")
    p.add_argument("--budget", type=int, default=15, help="tenant connections per worker (old) / x workers (new)")
    p.add_argument("--connections", type=int, default=16, help="wrk connections")
    p.add_argument("--seconds", type=float, default=20, help="each measured run")
    p.add_argument("--warmup", type=float, default=5, help="round-robin warm-up before the measured runs")
    p.add_argument("--only", choices=STRATEGIES, action="append", help="run only this strategy (repeatable)")
    args = p.parse_args()
    strategies = args.only or list(STRATEGIES)
    out.print(f"command: python bench/thousand.py {' '.join(sys.argv[1:])}".rstrip())
    out.print(f"machine: {harness.machine_line()}")
    out.print(f"code: {harness.git_state()}; old strategy: {LEGACY_PATH} at git {LEGACY_COMMIT}; "
              f"load average at start: {harness.load()}")
    results: list[Result] = []
    with contextlib.ExitStack() as stack:
        workdir = Path(tempfile.mkdtemp(prefix="pf-bench-1k-"))
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        legacy_file = workdir / "legacy_engines.py"
        legacy_file.write_text(subprocess.run(["git", "-C", str(harness.ROOT), "show", f"{LEGACY_COMMIT}:{LEGACY_PATH}"],
                                              capture_output=True, text=True, check=True).stdout)
        load = harness.Load(workdir, "wrk")
        t = time.perf_counter()
        cluster, admin = start_small_cluster(stack, MAX_CONNECTIONS)
        redis = harness.start_redis(stack)
        settings = harness.bench_settings(admin.with_database(harness.MAIN_DB).url("postgresql"), redis.url,
                                          spare_databases=0)
        subs, tokens = harness.run_async(build(admin, settings, args))
        out.print(f"{len(subs):,} tenants built with tokens in {time.perf_counter() - t:.1f} s")
        hosts = [f"{s}.{settings.root_domain}" for s in subs]
        auth = [{"Authorization": f"Bearer {tokens[s]}"} for s in subs]
        base = harness.settings_env(settings)
        for strategy in strategies:
            env = strategy_env(strategy, base, args, legacy_file, workdir)
            results.append(measure(strategy, env, args, load, admin, workdir, hosts, auth, cluster))
        out.print(table(results, args))  # before the clean-up: removing 1,000 databases' files takes minutes
    out.print(f"columns: 'max conns' counts backends with application_name polyflow:* (every tenant connection of "
              f"the app); target: round-robin >= {TARGET_RATIO}x hot, 0 errors, max conns <= budget. "
              f"load average at end: {harness.load()}")
    return 0


async def build(admin: PgDsn, settings, args) -> tuple[list[str], dict[str, str]]:
    from bench.fleet import build_fleet
    from polyflow.platform.runtime import Platform

    await harness.build_main_database(admin, settings)
    platform = Platform(settings)
    try:
        subs = await build_fleet(platform, admin, args.tenants, args.products)
    finally:
        await platform.stop()
    tokens = await add_tokens(admin, harness.MAIN_DB, subs)
    return subs, tokens


if __name__ == "__main__":
    sys.exit(main())
