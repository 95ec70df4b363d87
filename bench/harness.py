"""Shared pieces of the benchmarks: throwaway PostgreSQL and Redis, a migrated main database with
tenants, the app served in its own process, and a load generator (wrk, or Python as a fallback).

Everything started here is registered on a ``contextlib.ExitStack`` so that it is stopped and its
temp folder removed even when the benchmark fails half-way.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

from polyflow.config import Settings
from polyflow.kit.db import PgDsn, quote_ident
from polyflow.platform.localpg import LocalCluster, free_port

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
BENCH_SECRET = "bench-secret-key-0123456789abcdef"
MAIN_DB = "pf_bench_main"


# -- statistics ----------------------------------------------------------------------------------
def percentile(sorted_values, q: float) -> float:
    """Nearest-rank percentile of an already sorted sequence (q in 0..100)."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, round(q / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]


def summarize(values) -> dict:
    """Median and p99 of a list of numbers (any unit)."""
    s = sorted(values)
    return {"n": len(s), "p50": percentile(s, 50), "p99": percentile(s, 99)}


# -- services ------------------------------------------------------------------------------------
def start_postgres(stack: contextlib.ExitStack, *, fast: bool = True) -> tuple[LocalCluster, PgDsn]:
    """A throwaway cluster in a temp folder (fsync off unless fast=False); stopped and deleted on exit."""
    root = Path(tempfile.mkdtemp(prefix="pf-bench-pg-"))
    os.chmod(root, 0o755)
    stack.callback(shutil.rmtree, root, ignore_errors=True)
    cluster = LocalCluster(root, free_port(), fast=fast)
    stack.callback(cluster.stop)
    cluster.start()
    return cluster, cluster.dsn()


def start_redis(stack: contextlib.ExitStack):
    """A throwaway redis-server (the test suite's helper); stopped and its folder deleted on exit."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests.fixtures.services import RedisServer

    server = RedisServer()
    stack.callback(shutil.rmtree, server.dir, ignore_errors=True)
    stack.callback(server.stop)
    server.start()
    return server


def bench_settings(database_url: str, redis_url: str, **overrides) -> Settings:
    values = dict(env="test", secret_key=BENCH_SECRET, database_url=database_url, redis_url=redis_url,
                  redis_namespace="pfbench")
    values.update(overrides)
    return Settings(**values)


def settings_env(settings: Settings) -> dict[str, str]:
    """The POLYFLOW_* environment that rebuilds ``settings`` in another process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLYFLOW_")}
    for name in ("env", "database_url", "redis_url", "redis_namespace", "root_domain", "engine_cache_size",
                 "tenant_pool_size", "tenant_connection_budget", "budget_wait_seconds", "engine_idle_seconds",
                 "route_cache_ttl"):
        env[f"POLYFLOW_{name.upper()}"] = str(getattr(settings, name))
    env["POLYFLOW_SECRET_KEY"] = settings.secret_key.get_secret_value()
    return env


async def admin_exec(dsn: PgDsn, *statements: str) -> None:
    conn = await asyncpg.connect(**dsn.asyncpg_kwargs())
    try:
        for sql in statements:
            await conn.execute(sql)
    finally:
        await conn.close()


async def build_main_database(admin: PgDsn, settings: Settings) -> None:
    """A fresh main database: migrated, with the bench cluster registered as the default server."""
    from polyflow.platform import migrate
    from polyflow.platform.runtime import Platform
    from polyflow.platform.servers import ensure_default_server

    name = PgDsn.parse(settings.database_url).database
    await admin_exec(admin, f"DROP DATABASE IF EXISTS {quote_ident(name)}", f"CREATE DATABASE {quote_ident(name)}")
    platform = Platform(settings)
    try:
        await migrate.upgrade(platform.main_engine, "main")
        await ensure_default_server(platform.main_engine, platform.secrets, admin)
    finally:
        await platform.stop()


@dataclass
class TenantInfo:
    subdomain: str
    db_name: str


async def provision_tenants(platform, count: int, products: int) -> list[TenantInfo]:
    """``count`` tenants (pt-001, pt-002, ...) created by the real code, each with a few products."""
    from polyflow.platform.provisioning import create_tenant

    tenants = []
    for i in range(1, count + 1):
        sub = f"pt-{i:03d}"
        await create_tenant(platform, name=f"PT Bench {i:03d}", subdomain=sub)
        route = await platform.routes.get("sub:" + sub)
        conn = await asyncpg.connect(**route.dsn(platform.secrets.decrypt(route.db_password_enc)).asyncpg_kwargs())
        try:
            await conn.executemany(
                "INSERT INTO products (id, sku, name, unit, sell_price, is_active) "
                "VALUES (gen_random_uuid(), $1, $2, 'KG', $3, true)",
                [(f"SKU-{j:03d}", f"Granule grade {j}", j * 1000) for j in range(1, products + 1)],
            )
        finally:
            await conn.close()
        tenants.append(TenantInfo(sub, route.db_name))
    return tenants


async def tenant_sessions(admin: PgDsn, db_names: list[str]) -> int:
    """Sessions ever opened on these databases (pg_stat_database.sessions, PostgreSQL 14+)."""
    conn = await asyncpg.connect(**admin.asyncpg_kwargs())
    try:
        value = await conn.fetchval(
            "SELECT coalesce(sum(sessions), 0) FROM pg_stat_database WHERE datname = ANY($1::text[])", db_names
        )
    finally:
        await conn.close()
    return int(value)


# -- the app in its own process ------------------------------------------------------------------
@dataclass
class ServerProcess:
    """`bench/serve.py` (one uvicorn worker) in a child process, so it does not share a GIL with us."""

    settings: Settings
    workdir: Path
    engine_per_request: bool = False
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"server-{self.port}.log"

    def start(self, stack: contextlib.ExitStack) -> "ServerProcess":
        cmd = [sys.executable, str(BENCH / "serve.py"), "--port", str(self.port)]
        if self.engine_per_request:
            cmd.append("--engine-per-request")
        log = open(self.log_path, "wb")
        stack.callback(log.close)
        self.proc = subprocess.Popen(cmd, env=settings_env(self.settings), stdout=log, stderr=subprocess.STDOUT,
                                     cwd=str(ROOT), start_new_session=True)
        stack.callback(self.stop)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"bench server exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(self.base_url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"bench server did not start:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def probe(self, action: str) -> dict:
        """`/__bench/reset` or `/__bench/stats` of the server-side probe (see serve.py)."""
        return httpx.get(f"{self.base_url}/__bench/{action}", timeout=10).json()


# -- load ----------------------------------------------------------------------------------------
_LUA = """
local hosts = {%(hosts)s}
local path = "%(path)s"
local reqs = {}
local i = 0
init = function(args)
  for k, h in ipairs(hosts) do reqs[k] = wrk.format("GET", path, {["Host"] = h}) end
end
request = function()
  i = i %% #reqs + 1
  return reqs[i]
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH-JSON {\\"requests\\": %%d, \\"duration_us\\": %%d, \\"connect\\": %%d, \\"read\\": %%d, " ..
    "\\"write\\": %%d, \\"status\\": %%d, \\"timeout\\": %%d, \\"p50_us\\": %%d, \\"p99_us\\": %%d}\\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


@dataclass
class LoadResult:
    requests: int
    seconds: float
    non_2xx: int
    socket_errors: int
    p50_us: float
    p99_us: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


class Load:
    """Fixed-duration, fixed-concurrency GETs that rotate the Host header over a list of hosts."""

    def __init__(self, workdir: Path, kind: str = "auto"):
        self.workdir = workdir
        self.wrk = shutil.which("wrk")
        if kind == "wrk" and not self.wrk:
            raise RuntimeError("wrk not found: `apt-get install -y --no-install-recommends wrk`")
        self.kind = "wrk" if (kind in ("auto", "wrk") and self.wrk) else "python"
        self._n = 0

    def describe(self) -> str:
        if self.kind == "wrk":
            out = subprocess.run([self.wrk, "-v"], capture_output=True, text=True)
            return (out.stdout or out.stderr).split("Copyright")[0].strip()
        return "Python asyncio + httpx load generator (fallback: it saturates before the server does)"

    def run(self, base_url: str, path: str, hosts: list[str], *, connections: int, seconds: float) -> LoadResult:
        if self.kind == "wrk":
            return self._wrk(base_url, path, hosts, connections, seconds)
        return self._python(base_url, path, hosts, connections, seconds)

    def _wrk(self, base_url, path, hosts, connections, seconds) -> LoadResult:
        self._n += 1
        script = self.workdir / f"load-{self._n}.lua"
        script.write_text(_LUA % {"hosts": ", ".join(json.dumps(h) for h in hosts), "path": path})
        cmd = [self.wrk, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
               "-s", str(script), base_url + path]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
        line = next((l for l in out.stdout.splitlines() if l.startswith("BENCH-JSON ")), None)
        if out.returncode != 0 or line is None:
            raise RuntimeError(f"wrk failed ({out.returncode}): {out.stderr.strip() or out.stdout.strip()}")
        d = json.loads(line.removeprefix("BENCH-JSON "))
        return LoadResult(d["requests"], d["duration_us"] / 1e6, d["status"],
                          d["connect"] + d["read"] + d["write"] + d["timeout"], d["p50_us"], d["p99_us"])

    def _python(self, base_url, path, hosts, connections, seconds) -> LoadResult:
        cmd = [sys.executable, str(BENCH / "pyload.py"), "--url", base_url + path, "--connections", str(connections),
               "--seconds", str(seconds), "--hosts", ",".join(hosts)]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, cwd=str(ROOT))
        if out.returncode != 0:
            raise RuntimeError(f"python load generator failed: {out.stderr.strip()[-2000:]}")
        d = json.loads(out.stdout.strip().splitlines()[-1])
        return LoadResult(d["requests"], d["seconds"], d["non_2xx"], d["errors"], d["p50_us"], d["p99_us"])


def run_async(coro):
    """Run a coroutine on uvloop when it is installed (as uvicorn does), else on asyncio."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)
