"""Real processes for fault drills: an own PostgreSQL cluster (stop / restart / kill backends), an own Redis
(pause / resume), the app as a uvicorn subprocess. Never touch the shared `pg_admin` / `redis_server` fixtures:
other tests of the same xdist worker use them.

Used by several files in tests/resilience/ (owned by D; others may ADD functions at the end).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psycopg

import polyflow
from polyflow.config import Settings
from polyflow.kit.db import PgDsn
from polyflow.platform import migrate, provisioning
from polyflow.platform.localpg import LocalCluster, free_port
from polyflow.platform.runtime import Platform
from polyflow.platform.servers import ensure_default_server
from tests.conftest import TEST_SECRET, _admin_exec
from tests.fixtures.auth import make_user
from tests.fixtures.services import RedisServer

REPO = Path(__file__).resolve().parents[2]
# The app subprocess runs the same code as the test process (this tree's src/, or wherever polyflow came from).
SRC = Path(polyflow.__file__).resolve().parents[1]


# -- PostgreSQL -------------------------------------------------------------------------------------
class OwnCluster:
    """A PostgreSQL cluster of the drill alone, which it may stop, restart and kill.

    Not LocalCluster's ``fast`` mode: that runs with synchronous_commit=off, so a crash of PostgreSQL (an
    immediate shutdown, a killed postmaster) loses commits it already acknowledged, and a drill would count
    them as lost writes. Here commits wait for their WAL write (synchronous_commit on); fsync and full page
    writes stay off (they only protect against a crash of the machine), so databases are still created fast."""

    def __init__(self, *, max_connections: int | None = None):
        self.root = Path(tempfile.mkdtemp(prefix="pf-drill-pg-"))
        self.cluster = LocalCluster(self.root, free_port(), fast=False)
        self.max_connections = max_connections

    def start(self) -> "OwnCluster":
        self.cluster.init()
        with open(self.cluster.data_dir / "postgresql.conf", "a") as conf:
            conf.write("\n# tests/resilience/procs.py: survives a PostgreSQL crash, not a machine crash\n"
                       "fsync = off\nfull_page_writes = off\nsynchronous_commit = on\n")
        self.cluster.start()
        if self.max_connections is not None:
            self.sql(f"ALTER SYSTEM SET max_connections = {int(self.max_connections)}")
            self.restart()
        return self

    @property
    def port(self) -> int:
        return self.cluster.port

    def dsn(self, database: str = "postgres") -> PgDsn:
        return self.cluster.dsn(database)

    def _pg_ctl(self, *args: str, timeout: float = 60) -> None:
        cmd = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        cmd += [str(self.cluster.bin_dir / "pg_ctl"), "-D", str(self.cluster.data_dir), *args]
        subprocess.run(cmd, check=True, capture_output=True, timeout=timeout, cwd="/")

    def restart(self, mode: str = "fast") -> float:
        """`pg_ctl restart -m fast|immediate` (same port and options); returns the seconds it took."""
        started = time.monotonic()
        self._pg_ctl("-l", str(self.cluster.log_file), "-m", mode, "-w", "-t", "60", "restart")
        return time.monotonic() - started

    def stop(self, mode: str = "fast") -> None:
        if self.cluster.running:
            self._pg_ctl("-m", mode, "-w", "stop")

    def start_again(self) -> None:
        """Start after :meth:`stop` (same port and options)."""
        self.cluster.start()

    def sql(self, statement: str, *args, database: str = "postgres"):
        """One statement as the superuser (autocommit); rows for a SELECT, else None."""
        with psycopg.connect(self.dsn(database).url("postgresql"), autocommit=True, connect_timeout=10) as conn:
            cur = conn.execute(statement, args or None)
            return cur.fetchall() if cur.description else None

    def terminate(self, database: str) -> int:
        """pg_terminate_backend every connection to `database`; returns how many were killed."""
        rows = self.sql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s "
                        "AND pid <> pg_backend_pid()", database)
        return rows[0][0]

    def connections(self, database: str | None = None) -> int:
        if database is None:
            return self.sql("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
                            "AND pid <> pg_backend_pid()")[0][0]
        return self.sql("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", database)[0][0]

    def remove(self) -> None:
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def build_main(cluster: OwnCluster, *, redis_url: str | None = None, **overrides) -> Settings:
    """A migrated main database on the drill's cluster, the cluster registered as the default server
    (the same steps as the `main_template` fixture in tests/conftest.py). Returns its Settings."""
    name = f"pf_main_{uuid.uuid4().hex[:12]}"
    admin = cluster.dsn()
    _admin_exec(admin, f"CREATE DATABASE {name}")
    values = dict(env="test", secret_key=TEST_SECRET, database_url=admin.with_database(name).url("postgresql"),
                  redis_url=redis_url, redis_namespace=f"t{uuid.uuid4().hex[:10]}")
    values.update(overrides)
    settings = Settings(**values)

    async def build():
        platform = Platform(settings)
        try:
            await migrate.upgrade(platform.main_engine, "main")
            await ensure_default_server(platform.main_engine, platform.secrets, admin)
        finally:
            await platform.stop()

    asyncio.run(build())
    return settings


def make_tenants(settings: Settings, subdomains: list[str]) -> dict[str, str]:
    """Provision tenants with the real onboarding code; returns {subdomain: database name}."""

    async def go():
        platform = Platform(settings)
        try:
            out = {}
            for sub in subdomains:
                tenant = await provisioning.create_tenant(platform, name=sub.upper(), subdomain=sub)
                out[sub] = tenant.db_name
            return out
        finally:
            await platform.stop()

    return asyncio.run(go())


def owner_tokens(settings: Settings, subdomains: list[str]) -> dict[str, str]:
    """An API token of a new owner per tenant (written straight into the tenant's database)."""
    return {sub: make_user(settings, sub, ["owner"])["token"] for sub in subdomains}


# -- Redis ------------------------------------------------------------------------------------------
class OwnRedis(RedisServer):
    """A redis-server of the drill alone, which it may pause (SIGSTOP: a hung Redis) and resume."""

    @property
    def pid(self) -> int:
        return int((self.dir / "redis.pid").read_text().strip())

    def pause(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.pid, signal.SIGCONT)

    def remove(self) -> None:
        try:
            self.resume()  # a stopped process would not handle the SIGTERM of stop()
        except (OSError, ValueError):
            pass
        super().remove()


# -- The app ----------------------------------------------------------------------------------------
def settings_env(settings: Settings, **extra) -> dict[str, str]:
    """POLYFLOW_* environment for a subprocess serving `settings` (plus `extra`, e.g. tenant_pool_size=2)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLYFLOW_")}
    values = {"env": settings.env, "secret_key": settings.secret_key.get_secret_value(),
              "database_url": settings.database_url, "redis_namespace": settings.redis_namespace,
              "root_domain": settings.root_domain}
    if settings.redis_url:
        values["redis_url"] = settings.redis_url
    values.update(extra)
    env.update({f"POLYFLOW_{k.upper()}": str(v) for k, v in values.items() if v is not None})
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), str(REPO), env.get("PYTHONPATH")]))
    return env


class AppProcess:
    """`python -m uvicorn --factory polyflow.main:app_from_env` in a subprocess on a free port."""

    def __init__(self, settings: Settings, *, workers: int = 1, **extra):
        self.settings = settings
        self.port = free_port()
        self.workers = workers
        self.env = settings_env(settings, **extra)
        self.log_path = Path(tempfile.mkstemp(prefix="pf-app-", suffix=".log")[1])
        self.proc: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 180) -> "AppProcess":
        cmd = [sys.executable, "-m", "uvicorn", "--factory", "polyflow.main:app_from_env", "--host", "127.0.0.1",
               "--port", str(self.port), "--no-access-log", "--log-level", "warning"]
        if self.workers > 1:
            cmd += ["--workers", str(self.workers)]
        with open(self.log_path, "wb") as log_file:
            # Its own process group: stop() ends the workers too, and a Ctrl-C of pytest does not race it.
            self.proc = subprocess.Popen(cmd, env=self.env, stdout=log_file, stderr=subprocess.STDOUT,
                                         cwd=str(REPO), start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"app exited ({self.proc.returncode}):\n{self.log()[-3000:]}")
            try:
                if httpx.get(self.base_url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"app did not answer /healthz in {timeout}s:\n{self.log()[-3000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 15) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)

    def host(self, subdomain: str) -> str:
        return f"{subdomain}.{self.settings.root_domain}"

    def client(self, subdomain: str | None = None, token: str | None = None, timeout: float = 10,
               **kw) -> httpx.AsyncClient:
        """An async client sending `Host: <subdomain>.<root>` (and the bearer token) over 127.0.0.1."""
        headers = kw.pop("headers", {})
        if subdomain is not None:
            headers["Host"] = self.host(subdomain)
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=timeout, **kw)


# -- A workload of acknowledged writes (stock movements and journals) and the checks after it -------------
WRITE_SKU, WRITE_LOCATION = "PP-GRN", "RM-WH"  # a seeded location; the product is made by prepare_tenant


async def prepare_tenant(app: AppProcess, sub: str, token: str) -> None:
    """The product the workload moves (through the API)."""
    async with app.client(sub, token, timeout=30) as client:
        r = await client.post("/api/v1/products", json={"sku": WRITE_SKU, "name": "Resin", "product_type":
                                                        "raw_material", "unit": "KG"})
        assert r.status_code == 201, r.text


class Workload:
    """Clients writing and reading on several tenants through the app, every call bounded in time. Records each
    answer (status, seconds, when it started) and the reference of every acknowledged (2xx) write."""

    def __init__(self, app: AppProcess, tokens: dict[str, str], *, timeout: float = 15.0):
        self.app = app
        self.tokens = tokens
        self.timeout = timeout
        # (sub, status, started, seconds, Retry-After, body of an error): `started` is time.monotonic()
        self.calls: list[tuple[str, int, float, float, str | None, str | None]] = []
        self.acked: dict[str, dict[str, set[str]]] = {sub: {"movement": set(), "journal": set()} for sub in tokens}
        self.failures: list[str] = []  # transport errors and timeouts: a request that hung or was dropped
        self.stop = asyncio.Event()

    def _body(self, kind: str, ref: str) -> tuple[str, dict]:
        if kind == "in":
            return "/api/v1/stock-movements", {"kind": "IN", "sku": WRITE_SKU, "to_location": WRITE_LOCATION,
                                               "quantity": "3", "unit_cost": "1000", "reference": ref}
        if kind == "out":
            return "/api/v1/stock-movements", {"kind": "OUT", "sku": WRITE_SKU, "from_location": WRITE_LOCATION,
                                               "quantity": "1", "reason": "sale", "reference": ref}
        today = time.strftime("%Y-%m-%d")
        return "/api/v1/journal-entries", {"entry_date": today, "description": "drill", "reference": ref,
                                           "lines": [{"account": "6100", "debit": "1000", "credit": "0"},
                                                     {"account": "1101", "debit": "0", "credit": "1000"}]}

    async def call(self, client: httpx.AsyncClient, sub: str, kind: str) -> int | None:
        """One bounded call; returns the status (None: it failed in transport or timed out)."""
        ref = None
        started = time.monotonic()
        try:
            async with asyncio.timeout(self.timeout):
                if kind in ("in", "out", "journal"):
                    ref = f"drill-{uuid.uuid4().hex[:16]}"
                    path, body = self._body(kind, ref)
                    r = await client.post(path, json=body)
                elif kind == "stock":
                    r = await client.get("/api/v1/stock", params={"limit": 5})
                else:
                    r = await client.get("/api/v1/journal-entries", params={"limit": 5})
        except (TimeoutError, httpx.HTTPError) as exc:
            self.failures.append(f"{sub} {kind}: {type(exc).__name__} after {time.monotonic() - started:.1f} s")
            return None
        took = time.monotonic() - started
        self.calls.append((sub, r.status_code, started, took, r.headers.get("retry-after"),
                           None if r.status_code < 300 else r.text[:160]))
        if 200 <= r.status_code < 300 and ref is not None:
            self.acked[sub]["journal" if kind == "journal" else "movement"].add(ref)
        return r.status_code

    async def client_loop(self, sub: str, seed: int, think: float = 0.0) -> None:
        kinds = ["in", "stock", "out", "journal", "journals", "in", "stock"]
        i = seed
        async with self.app.client(sub, self.tokens[sub], timeout=self.timeout) as client:
            while not self.stop.is_set():
                status = await self.call(client, sub, kinds[i % len(kinds)])
                i += 1
                if status is None or status >= 500:
                    await asyncio.sleep(0.05)  # a client backing off a little, as a real one would
                if think:
                    await asyncio.sleep(think)

    async def run(self, clients_per_tenant: int = 1, think: float = 0.0) -> None:
        """Run the clients until `stop` is set (`think`: seconds each client waits between its calls)."""
        await asyncio.gather(*(self.client_loop(sub, n, think) for sub in self.tokens
                               for n in range(clients_per_tenant)))

    # -- what the drills assert -------------------------------------------------------------------------
    def statuses(self) -> dict[int, int]:
        out: dict[int, int] = {}
        for _, status, *_ in self.calls:
            out[status] = out.get(status, 0) + 1
        return dict(sorted(out.items()))

    def bad_answers(self) -> list[tuple]:
        """Answers that are neither 2xx, a business refusal (409/422: out of stock), nor 503 + Retry-After."""
        return [c for c in self.calls if not (200 <= c[1] < 300 or c[1] in (409, 422) or (c[1] == 503 and c[4]))]

    def max_latency(self) -> float:
        return max((c[3] for c in self.calls), default=0.0)

    def latency_p(self, q: float) -> float:
        took = sorted(c[3] for c in self.calls)
        return took[min(len(took) - 1, int(q * len(took)))] if took else 0.0

    def refused_after(self, moment: float) -> list[tuple]:
        """5xx answers to requests started at or after `moment` (time.monotonic())."""
        return [c for c in self.calls if c[2] >= moment and c[1] >= 500]

    def acknowledged(self) -> int:
        return sum(len(kinds["movement"]) + len(kinds["journal"]) for kinds in self.acked.values())


async def check_tenant_books(settings: Settings, sub: str, acked: dict[str, set[str]]) -> dict[str, int]:
    """After a drill, on the tenant's database (as its role): every acknowledged write present exactly once (by
    reference), the GL balanced, and the stock ledger equalities of tests/erp (valuation == inventory accounts
    == a from-scratch replay; no negative balance). Returns the counts found."""
    from datetime import date

    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
    from sqlalchemy.pool import NullPool

    from tests.erp.inventory.test_ledger_properties import check as ledgers_agree
    from tests.fixtures.auth import tenant_dsn

    dsn = tenant_dsn(settings, sub)[1]
    engine = create_async_engine(dsn.url(), poolclass=NullPool)
    try:
        async with AsyncSession(engine) as session:
            moves = [r[0] for r in (await session.execute(text(
                "SELECT reference FROM stock_movements WHERE reference LIKE 'drill-%'"))).all()]
            journals = [r[0] for r in (await session.execute(text(
                "SELECT reference FROM journal_entries WHERE reference LIKE 'drill-%' AND doc_type = 'JV'"))).all()]
            assert len(moves) == len(set(moves)) and len(journals) == len(set(journals)), sub
            lost_moves, lost_journals = acked["movement"] - set(moves), acked["journal"] - set(journals)
            assert not lost_moves and not lost_journals, (sub, "acknowledged writes lost", lost_moves, lost_journals)
            debit, credit = (await session.execute(text(
                "SELECT coalesce(sum(debit), 0), coalesce(sum(credit), 0) FROM journal_lines"))).one()
            assert debit == credit, (sub, debit, credit)
            await ledgers_agree(session, [date.today(), date(date.today().year, 12, 31)])
    finally:
        await engine.dispose()
    return {"movements": len(moves), "journals": len(journals)}
