"""Shared pieces of the benchmarks: throwaway PostgreSQL and Redis, a migrated main database with
tenants (each with a signed-in bench user: an API token, optionally a password), the app served in
its own process, and a load generator (wrk, or Python as a fallback) that rotates Host together with
that host's own credentials (the tenant API answers 401 without them).

Everything started here is registered on a ``contextlib.ExitStack`` so that it is stopped and its
temp folder removed even when the benchmark fails half-way.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform as pyplatform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

from polyflow.config import Settings
from polyflow.kit.db import PgDsn, quote_ident
from polyflow.kit.web import new_token, token_hash
from polyflow.platform.localpg import LocalCluster, free_port

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
BENCH_SECRET = "bench-secret-key-0123456789abcdef"
MAIN_DB = "pf_bench_main"
BENCH_PASSWORD = "bench-password-correct-horse-battery"
# The bench user's roles: viewer reads every module (GET /api/v1/products needs catalog.read).
BENCH_ROLES = ("viewer",)


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
                 "route_cache_ttl", "login_ip_per_minute", "login_tenant_per_minute", "trusted_proxies"):
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
    id: uuid.UUID | None = None
    # The bench user of this tenant: its API token (`pft_<tenant id hex>_<secret>`), its email, and
    # its password (None: a token-only user that cannot sign in with a password).
    token: str | None = None
    email: str | None = None
    password: str | None = None

    def bearer(self) -> dict[str, str]:
        """The request headers that authenticate as this tenant's bench user."""
        return {"Authorization": f"Bearer {self.token}"}


async def add_user(conn: asyncpg.Connection, tenant_id: uuid.UUID, email: str, roles=BENCH_ROLES, *,
                   password_hash: str | None = None) -> str:
    """A user with ``roles`` and an API token carrying the same roles, written straight into the tenant's
    database over ``conn`` (connected as the tenant's role), as the API would store them: the token is
    bound to the tenant and only its SHA-256 is kept. Returns the token."""
    token = new_token("pft", tenant_id.hex)
    async with conn.transaction():
        user_id = await conn.fetchval(
            "INSERT INTO users (id, email, name, password_hash, roles) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            uuid.uuid4(), email, email.split("@")[0], password_hash, list(roles))
        await conn.execute(
            "INSERT INTO api_tokens (id, token_hash, user_id, name, hint, roles) VALUES ($1, $2, $3, $4, $5, $6)",
            uuid.uuid4(), token_hash(token), user_id, "bench", token[-4:], list(roles))
    return token


async def provision_tenants(platform, count: int, products: int, *, password: str | None = None,
                            roles=BENCH_ROLES) -> list[TenantInfo]:
    """``count`` tenants (pt-001, pt-002, ...) created by the real code, each with a few products and a
    bench user (``bench-<subdomain>@example.test``) holding an API token; with ``password``, the user can
    also sign in (the argon2id hash is computed once and shared)."""
    from polyflow.platform.provisioning import create_tenant

    password_hash = None
    if password is not None:
        from polyflow.kit.passwords import hash_password

        password_hash = hash_password(password)
    tenants = []
    for i in range(1, count + 1):
        sub = f"pt-{i:03d}"
        await create_tenant(platform, name=f"PT Bench {i:03d}", subdomain=sub)
        route = await platform.routes.get("sub:" + sub)
        conn = await asyncpg.connect(**route.dsn(platform.secrets.decrypt(route.db_password_enc)).asyncpg_kwargs())
        email = f"bench-{sub}@example.test"
        try:
            await conn.executemany(
                "INSERT INTO products (id, sku, name, unit, sell_price, is_active) "
                "VALUES (gen_random_uuid(), $1, $2, 'KG', $3, true)",
                [(f"SKU-{j:03d}", f"Granule grade {j}", j * 1000) for j in range(1, products + 1)],
            )
            token = await add_user(conn, route.id, email, roles, password_hash=password_hash)
        finally:
            await conn.close()
        tenants.append(TenantInfo(sub, route.db_name, route.id, token, email, password))
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


# -- context for the header lines ------------------------------------------------------------------
def git_state() -> str:
    """The commit, and how many files under src/ differ from it (other engineers share the checkout)."""
    def git(*a):
        return subprocess.run(["git", "-C", str(ROOT), *a], capture_output=True, text=True).stdout.strip()

    sha = git("rev-parse", "--short", "HEAD") or "?"
    dirty = [l for l in git("status", "--porcelain", "--", "src").splitlines() if l.strip()]
    return f"{sha}" + (f" + {len(dirty)} uncommitted file(s) in src/" if dirty else "")


def machine_line() -> str:
    """nproc, CPU model, memory, OS, Python, event loop and uvicorn versions."""
    import uvicorn

    try:
        import uvloop

        loop = f"uvloop {uvloop.__version__}"
    except ImportError:
        loop = "asyncio"
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (f"nproc={nproc} ({cpu}), {mem:.0f} GiB, {pyplatform.system()} {pyplatform.release()}; "
            f"Python {pyplatform.python_version()}, {loop}, uvicorn {uvicorn.__version__}")


# -- the app in its own process ------------------------------------------------------------------
@dataclass
class ServerProcess:
    """`bench/serve.py` (one uvicorn worker) in a child process, so it does not share a GIL with us."""

    settings: Settings
    workdir: Path
    engine_per_request: bool = False
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    start_timeout: float = 30.0  # seconds to answer /healthz (a busy 2-core machine may need more)

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
        deadline = time.monotonic() + self.start_timeout
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
local headers = {%(headers)s}
local path = %(path)s
local reqs = {}
local i = 0
init = function(args)
  for k, h in ipairs(headers) do reqs[k] = wrk.format("GET", path, h) end
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


def _lua_string(value: str) -> str:
    if not value.isascii() or any(c in value for c in "\\\"\n\r"):
        raise ValueError(f"not a plain header value: {value!r}")
    return f'"{value}"'


def request_headers(hosts: list[str], headers: list[dict[str, str]] | None) -> list[dict[str, str]]:
    """One header set per host: ``Host`` plus that host's own headers (its credentials), same order."""
    if headers is not None and len(headers) != len(hosts):
        raise ValueError(f"{len(headers)} header sets for {len(hosts)} hosts")
    return [{"Host": h, **(headers[k] if headers else {})} for k, h in enumerate(hosts)]


class Load:
    """Fixed-duration, fixed-concurrency GETs that rotate the Host header over a list of hosts.

    ``headers``, when given, is one dict per host (same order), sent with that host only: each tenant's
    ``Authorization: Bearer`` token or session ``Cookie`` rotates together with its Host.
    """

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

    def run(self, base_url: str, path: str, hosts: list[str], *, connections: int, seconds: float,
            headers: list[dict[str, str]] | None = None) -> LoadResult:
        sets = request_headers(hosts, headers)
        if self.kind == "wrk":
            return self._wrk(base_url, path, sets, connections, seconds)
        return self._python(base_url, path, sets, connections, seconds)

    def _wrk(self, base_url, path, sets, connections, seconds) -> LoadResult:
        self._n += 1
        script = self.workdir / f"load-{self._n}.lua"  # holds tokens: in the bench's private temp folder
        tables = ", ".join(
            "{" + ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in h.items()) + "}" for h in sets)
        script.write_text(_LUA % {"headers": tables, "path": _lua_string(path)})
        cmd = [self.wrk, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
               "-s", str(script), base_url + path]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
        line = next((l for l in out.stdout.splitlines() if l.startswith("BENCH-JSON ")), None)
        if out.returncode != 0 or line is None:
            raise RuntimeError(f"wrk failed ({out.returncode}): {out.stderr.strip() or out.stdout.strip()}")
        d = json.loads(line.removeprefix("BENCH-JSON "))
        return LoadResult(d["requests"], d["duration_us"] / 1e6, d["status"],
                          d["connect"] + d["read"] + d["write"] + d["timeout"], d["p50_us"], d["p99_us"])

    def _python(self, base_url, path, sets, connections, seconds) -> LoadResult:
        self._n += 1
        spec = self.workdir / f"load-{self._n}.json"  # per-host headers (tokens) in a file, not in argv
        spec.write_text(json.dumps(sets))
        cmd = [sys.executable, str(BENCH / "pyload.py"), "--url", base_url + path, "--connections", str(connections),
               "--seconds", str(seconds), "--headers-file", str(spec)]
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


def start_services(stack: contextlib.ExitStack, *, prefix: str, load_kind: str,
                   say) -> tuple[Path, Load, PgDsn, object]:
    """The common start of a benchmark: a temp folder (removed at exit), the load generator, PostgreSQL
    and Redis, all stopped by `stack`. Returns (folder, load, superuser DSN, Redis server)."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    stack.callback(shutil.rmtree, workdir, ignore_errors=True)
    load = Load(workdir, load_kind)
    t = time.perf_counter()
    _cluster, admin = start_postgres(stack)
    redis = start_redis(stack)
    say(f"PostgreSQL and Redis started ({time.perf_counter() - t:.1f} s)")
    return workdir, load, admin, redis


def load() -> str:
    """The machine's load averages (1, 5, 15 min), for the header and footer of a bench's table."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run_bench(script: str, out, run, args) -> None:
    """The start of a bench that measures the code in-process: print what runs where, start a PostgreSQL
    cluster and a Redis for it, and run `run(args, admin, settings)` to the end."""
    out.print(f"command: python bench/{script} {' '.join(sys.argv[1:])}".rstrip())
    out.print(f"machine: {machine_line()}")
    out.print(f"code: {git_state()}; load average at start: {load()}")
    with contextlib.ExitStack() as stack:
        _cluster, admin = start_postgres(stack)
        redis = start_redis(stack)
        settings = bench_settings(admin.with_database(MAIN_DB).url("postgresql"), redis.url)
        run_async(run(args, admin, settings))
