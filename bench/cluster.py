"""Many machines on one: the production layout (ARCHITECTURE "Deployment") in miniature, and what it promises.

    python bench/cluster.py              # about 3-4 minutes on 2 cores
    python bench/cluster.py --seconds 10 --tenants 3

What runs (all real processes, own ports, removed at the end):
  * two PostgreSQL clusters (LocalCluster): A holds the main database and is tenant server `default`; B is
    tenant server `db2`, registered with the servers registry (`lifecycle.add_server`) and put behind its own
    PgBouncer (transaction mode, deploy/pgbouncer/pgbouncer.ini) with `servers.set_pooler`;
  * one Redis (route cache, invalidations);
  * two app processes (uvicorn, one worker each) on different ports, behind bench/proxy.py, a round-robin
    HTTP load balancer that spreads every request (not every connection) and says who served it;
  * two job workers (`polyflow worker`).
What it measures, in order:
  1. load through the balancer on tenants of both clusters (reads and writes): req/s and errors per app
     process and per cluster;
  2. a tenant suspended through app 1's admin API is refused (403) by app 2: the latency, per trial;
     resumed through app 2, served again by app 1;
  3. a tenant moved from A to B (`polyflow tenants move`) while writers and the load keep going: writes
     acknowledged vs present afterwards (none may be lost), 503s while it was read-only;
  4. a fleet migration sent as jobs (`polyflow migrate --via-jobs --wait`, one extra tenant revision from
     tests/fixtures/fleet_revisions) run by both workers: tenants per worker.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
import psycopg  # noqa: E402

from bench import harness  # noqa: E402
from polyflow.kit.db import PgDsn  # noqa: E402
from polyflow.platform import lifecycle, provisioning  # noqa: E402
from polyflow.platform.localpg import free_port  # noqa: E402
from polyflow.platform.runtime import Platform  # noqa: E402
from polyflow.platform.servers import lock_down, set_pooler  # noqa: E402
from tests.fixtures.fleet_revisions import BACKFILL  # noqa: E402
from tests.fixtures.pgbouncer import PgBouncer  # noqa: E402
from tests.fixtures.services import RedisServer  # noqa: E402
from tests.resilience.procs import AppProcess, OwnCluster, build_main, owner_tokens, settings_env  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-c", "from polyflow.cli import main; main()"]
OPERATOR_TOKEN = "bench-operator-" + uuid.uuid4().hex
SUSPEND_TARGET_S = 1.0


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def table(title: str, header: list[str], rows: list[list]) -> None:
    cells = [header] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n{title}")
    for n, row in enumerate(cells):
        print("  " + "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))))
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths))


def main_db(settings) -> PgDsn:
    return PgDsn.parse(settings.database_url)


def query_main(settings, sql: str, *args):
    with psycopg.connect(main_db(settings).url("postgresql"), autocommit=True, connect_timeout=10) as conn:
        return conn.execute(sql, args or None).fetchall()


# -- building ----------------------------------------------------------------------------------------
async def build_fleet(settings, b: OwnCluster, bouncer_port: int, per_cluster: int) -> dict[str, str]:
    """Server db2 (cluster B) behind its PgBouncer, and tenants on both servers. Returns {subdomain: server}."""
    platform = Platform(settings)
    try:
        await lifecycle.add_server(platform, "db2", b.dsn().url("postgresql"))
        await lock_down(platform.main_engine, platform.secrets, only="db2")
        await set_pooler(platform, "db2", f"127.0.0.1:{bouncer_port}")
        placed = {}
        for server in ("default", "db2"):
            for i in range(per_cluster):
                sub = f"pt-{'a' if server == 'default' else 'b'}{i}"
                await provisioning.create_tenant(platform, name=sub.upper(), subdomain=sub, server_name=server)
                placed[sub] = server
                log(f"tenant {sub} on {server}")
        return placed
    finally:
        await platform.stop()


def cluster_of(server: str) -> str:
    return {"default": "A (direct)", "db2": "B (PgBouncer)"}[server]


# -- 1. load -----------------------------------------------------------------------------------------
class Load:
    """Clients through the balancer: GET the product list, every 4th request a POST (a write)."""

    def __init__(self, base_url: str, tokens: dict[str, str], root: str):
        self.base_url, self.tokens, self.root = base_url, tokens, root
        self.records: list[tuple[str, str, int]] = []  # (subdomain, served by, status)
        self._stop = asyncio.Event()

    async def _client(self, i: int, subs: list[str]) -> None:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=15) as client:
            n = i
            while not self._stop.is_set():
                sub = subs[n % len(subs)]
                headers = {"Host": f"{sub}.{self.root}", "Authorization": f"Bearer {self.tokens[sub]}"}
                try:
                    if n % 4 == 0:
                        r = await client.post("/api/v1/products", headers=headers, json={
                            "sku": f"L-{uuid.uuid4().hex[:12]}", "name": "load", "unit": "kg"})
                    else:
                        r = await client.get("/api/v1/products", headers=headers, params={"limit": 5})
                    self.records.append((sub, r.headers.get("x-served-by", "?"), r.status_code))
                except httpx.HTTPError:
                    self.records.append((sub, "?", 599))
                n += 1

    async def run(self, subs: list[str], clients: int, seconds: float | None = None) -> None:
        tasks = [asyncio.create_task(self._client(i, subs)) for i in range(clients)]
        if seconds is not None:
            await asyncio.sleep(seconds)
            self._stop.set()
        await asyncio.gather(*tasks)

    def stop(self) -> None:
        self._stop.set()


def load_tables(load: Load, seconds: float, placed: dict[str, str], suffix: str = "") -> dict:
    by_app: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    by_cluster: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for sub, app, status in load.records:
        for bucket in (by_app[app], by_cluster[cluster_of(placed[sub])]):
            bucket["requests"] += 1
            bucket["errors"] += status >= 500 or status in (401, 403, 404)
            if status >= 300:
                bucket[f"s{status}"] += 1
    def answers(c):
        return ", ".join(f"{k[1:]}: {n}" for k, n in sorted(c.items()) if k.startswith("s")) or "-"

    rows_app = [[app, c["requests"], f"{c['requests'] / seconds:.1f}", c["errors"], answers(c)]
                for app, c in sorted(by_app.items())]
    rows_cluster = [[cl, c["requests"], f"{c['requests'] / seconds:.1f}", c["errors"], answers(c)]
                    for cl, c in sorted(by_cluster.items())]
    header = ["requests", "req/s", "errors", "answers not 2xx"]
    table(f"Load through the balancer{suffix} ({seconds:.0f} s)", ["app process", *header], rows_app)
    table(f"Same load by database cluster{suffix}", ["cluster", *header], rows_cluster)
    return {"by_app": {k: dict(v) for k, v in by_app.items()}, "by_cluster": {k: dict(v) for k, v in by_cluster.items()}}


# -- 2. suspend through one process, refused by the other ----------------------------------------------
async def suspend_trials(apps: list[AppProcess], tokens: dict[str, str], subs: list[str], root: str) -> list[dict]:
    results = []
    admin = {"Host": f"admin.{root}", "Authorization": f"Bearer {OPERATOR_TOKEN}"}
    for n, sub in enumerate(subs):
        via, other = (apps[0], apps[1]) if n % 2 == 0 else (apps[1], apps[0])
        tenant = {"Host": f"{sub}.{root}", "Authorization": f"Bearer {tokens[sub]}"}
        async with httpx.AsyncClient(timeout=10) as c:
            # The other process has the tenant's route cached (served it a moment ago).
            assert (await c.get(f"{other.base_url}/api/v1/products", headers=tenant)).status_code == 200
            r = await c.post(f"{via.base_url}/admin/api/tenants/{sub}/suspend", headers=admin, json={"reason": "bench"})
            acked = time.perf_counter()
            assert r.status_code == 200, r.text
            refused = None
            while time.perf_counter() - acked < 5:
                if (await c.get(f"{other.base_url}/api/v1/products", headers=tenant)).status_code == 403:
                    refused = time.perf_counter() - acked
                    break
                await asyncio.sleep(0.002)
            r = await c.post(f"{other.base_url}/admin/api/tenants/{sub}/resume", headers=admin)
            acked = time.perf_counter()
            assert r.status_code == 200, r.text
            served = None
            while time.perf_counter() - acked < 5:
                if (await c.get(f"{via.base_url}/api/v1/products", headers=tenant)).status_code == 200:
                    served = time.perf_counter() - acked
                    break
                await asyncio.sleep(0.002)
        results.append({"tenant": sub, "suspended_via": via.name, "refused_by": other.name,
                        "refused_after_ms": None if refused is None else round(refused * 1000, 1),
                        "served_again_after_ms": None if served is None else round(served * 1000, 1)})
    return results


# -- 3. move under load ------------------------------------------------------------------------------
async def move_under_load(settings, base_url: str, tokens: dict[str, str], placed: dict[str, str], sub: str,
                          root: str, clients: int, env: dict[str, str]) -> dict:
    acked: list[str] = []
    outcomes: collections.Counter = collections.Counter()
    stop = asyncio.Event()

    async def writer(i: int) -> None:
        headers = {"Host": f"{sub}.{root}", "Authorization": f"Bearer {tokens[sub]}"}
        async with httpx.AsyncClient(base_url=base_url, timeout=20) as c:
            n = 0
            while not stop.is_set():
                sku = f"MV-{i}-{n}"
                n += 1
                try:
                    r = await c.post("/api/v1/products", headers=headers, json={"sku": sku, "name": "move", "unit": "kg"})
                except httpx.HTTPError:
                    outcomes["transport error"] += 1
                    continue
                outcomes[r.status_code] += 1
                if r.status_code == 201:
                    acked.append(sku)
                elif r.status_code == 503:
                    await asyncio.sleep(float(r.headers.get("retry-after", "1")) / 10)

    others = [s for s in placed if s != sub]
    load = Load(base_url, tokens, root)
    load_started = time.perf_counter()
    background = asyncio.create_task(load.run(others, clients))
    writers = [asyncio.create_task(writer(i)) for i in range(4)]
    await asyncio.sleep(2)
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(*CLI, "tenants", "move", sub, "--to", "db2", env=env, cwd=str(REPO),
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), 600)
    moved_in = time.perf_counter() - started
    await asyncio.sleep(2)  # writes go on on the new server
    stop.set()
    load.stop()
    await asyncio.gather(*writers, background)
    load_seconds = time.perf_counter() - load_started
    if proc.returncode != 0:
        raise RuntimeError(f"move failed: {out.decode()[-2000:]}")
    (db_name, server), = query_main(settings, "SELECT t.db_name, s.name FROM tenants t JOIN database_servers s "
                                              "ON s.id = t.server_id WHERE t.subdomain = %s", sub)
    return {"db_name": db_name, "server": server, "acked": acked, "outcomes": outcomes, "move_seconds": moved_in,
            "background": load, "background_seconds": load_seconds}


# -- 4. fleet migration as jobs ----------------------------------------------------------------------
def start_worker(env: dict[str, str], logdir: Path, n: int) -> subprocess.Popen:
    log_file = open(logdir / f"worker{n}.log", "wb")
    return subprocess.Popen([*CLI, "worker", "--concurrency", "2"], env=env, cwd=str(REPO), stdout=log_file,
                            stderr=subprocess.STDOUT, start_new_session=True)


def stop_process(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tenants", type=int, default=4, help="tenants per cluster (default 4)")
    ap.add_argument("--seconds", type=float, default=15, help="steady load duration (default 15)")
    ap.add_argument("--clients", type=int, default=16, help="concurrent load clients (default 16)")
    args = ap.parse_args()
    print(f"$ python bench/cluster.py --tenants {args.tenants} --seconds {args.seconds:g} --clients {args.clients}")
    print(harness.machine_line())
    # Every process here shares the machine's cores: the absolute rates say more about that than about the app.
    print("load average at start: " + " ".join(f"{x:.1f}" for x in os.getloadavg()))
    summary: dict = {}
    ok = True
    with contextlib.ExitStack() as stack:
        logdir = Path(tempfile.mkdtemp(prefix="pf-bench-cluster-"))
        redis = RedisServer().start()
        stack.callback(redis.remove)
        a = OwnCluster().start()
        stack.callback(a.remove)
        b = OwnCluster().start()
        stack.callback(b.remove)
        log(f"PostgreSQL A :{a.port} (main + server default), B :{b.port} (server db2); Redis :{redis.port}")
        settings = build_main(a, redis_url=redis.url, operator_token=OPERATOR_TOKEN, spare_databases=0)
        b_admin = b.dsn()
        bouncer = PgBouncer(b.port, b_admin.user, b_admin.password, default_pool_size=4).start()
        stack.callback(bouncer.remove)
        log(f"PgBouncer :{bouncer.port} -> B (transaction mode)")
        placed = asyncio.run(build_fleet(settings, b, bouncer.port, args.tenants))
        tokens = owner_tokens(settings, list(placed))
        root = settings.root_domain

        extra = dict(operator_token=OPERATOR_TOKEN, spare_databases=0, tenant_pool_size=4, tenant_connection_budget=40,
                     tenant_max_inflight=32, log_level="WARNING")
        apps = []
        for n in (1, 2):
            app = AppProcess(settings, **extra)
            app.name = f"app{n} :{app.port}"
            app.start()  # its default wait (180 s): a loaded machine imports slowly
            stack.callback(app.stop)
            apps.append(app)
        backends = [(app.name, "127.0.0.1", app.port) for app in apps]

        # The balancer in a process of its own, as a real one is (not sharing the load generator's event loop).
        proxy_port = free_port()
        proxy = subprocess.Popen([sys.executable, str(REPO / "bench" / "proxy.py"), str(proxy_port),
                                  *(f"{name}={host}:{port}" for name, host, port in backends)],
                                 stdout=subprocess.PIPE, text=True, start_new_session=True)
        stack.callback(stop_process, proxy)
        assert proxy.stdout.readline().startswith("listening"), "the balancer did not start"

        async def phases():
            base_url = f"http://127.0.0.1:{proxy_port}"
            log(f"balancer :{proxy_port} -> {', '.join(a.name for a in apps)}")
            # Warm-up (not counted): every app process resolves every tenant and opens its engine once, as a
            # node that has been serving for a while has.
            async with httpx.AsyncClient(timeout=30) as c:
                for app in apps:
                    for sub in placed:
                        await c.get(f"{app.base_url}/api/v1/products", headers={
                            "Host": f"{sub}.{root}", "Authorization": f"Bearer {tokens[sub]}"})
            # 1. steady load
            load = Load(base_url, tokens, root)
            log(f"1. load: {args.clients} clients, {len(placed)} tenants, {args.seconds:g} s")
            await load.run(list(placed), args.clients, args.seconds)
            summary["load"] = load_tables(load, args.seconds, placed)
            # 2. suspend via one process, refused by the other
            log("2. suspend through one app process, refused by the other")
            trials = await suspend_trials(apps, tokens, [s for s in placed][:2] + [s for s in placed][-2:], root)
            summary["suspend"] = trials
            # 3. move under load
            mover = next(s for s, server in placed.items() if server == "default")
            log(f"3. move {mover} from A to B under load")
            env = settings_env(settings, **extra)
            summary["move"] = await move_under_load(settings, base_url, tokens, placed, mover, root,
                                                    max(2, args.clients // 2), env)

        asyncio.run(phases())

        table("Suspend through one process, refused by the other (Redis pub/sub invalidation)",
              ["tenant", "suspended via", "403 from", "refused after ms", "served again after ms"],
              [[t["tenant"], t["suspended_via"], t["refused_by"], t["refused_after_ms"], t["served_again_after_ms"]]
               for t in summary["suspend"]])
        worst = [t["refused_after_ms"] for t in summary["suspend"]]
        if any(w is None or w > SUSPEND_TARGET_S * 1000 for w in worst):
            ok = False
            print(f"  MISSED: a suspension was not refused by the other process within {SUSPEND_TARGET_S:g} s")

        move = summary["move"]
        mover = next(s for s, server in placed.items() if server == "default")
        rows = b.sql("SELECT sku FROM products WHERE sku LIKE 'MV-%%'", database=move["db_name"])
        present = {r[0] for r in rows}
        acked = set(move["acked"])
        lost = acked - present
        table(f"Move of {mover} from A to B under load (4 writers + background load)",
              ["writes acknowledged", "present after", "lost", "present, not acknowledged", "503 while read-only",
               "other answers", "move s", "now on"],
              [[len(acked), len(present), len(lost), len(present - acked), move["outcomes"].get(503, 0),
                sum(n for k, n in move["outcomes"].items() if k not in (201, 503)), f"{move['move_seconds']:.1f}",
                f"{move['server']} ({cluster_of(move['server'])})"]])
        print("  the writers' answers: " + ", ".join(f"{k}: {n}" for k, n in sorted(move["outcomes"].items(), key=str)))
        moved_back = move["background"]
        placed_after = dict(placed, **{mover: "db2"})
        load_tables(moved_back, move["background_seconds"], placed_after, suffix=" on the other tenants during the move")
        if lost:
            ok = False
            print(f"  LOST acknowledged writes: {sorted(lost)[:10]}")
        stats = {s["database"]: s for s in bouncer.show("STATS")}
        via = int(stats.get(move["db_name"], {}).get("total_xact_count", 0))
        print(f"  after the switch, {mover}'s transactions through PgBouncer: {via}")

        # 4. fleet migration spread over two job workers
        log("4. fleet migration as jobs, two workers")
        env = settings_env(settings, **extra, tenant_migrations_extra=str(BACKFILL))
        workers = [start_worker(env, logdir, n) for n in (1, 2)]
        for w in workers:
            stack.callback(stop_process, w)
        time.sleep(3)
        started = time.perf_counter()
        done = subprocess.run([*CLI, "migrate", "--via-jobs", "--wait", "--json"], env=env, cwd=str(REPO),
                              capture_output=True, text=True, timeout=900)
        fleet_s = time.perf_counter() - started
        if done.returncode != 0:
            print(done.stdout[-3000:], done.stderr[-3000:])
            ok = False
        per_worker = query_main(
            settings, "SELECT j.worker_id, count(*), min(j.id), max(j.id) FROM procrastinate_jobs j "
                      "WHERE j.task_name = 'fleet.migrate_tenant' GROUP BY j.worker_id ORDER BY 2 DESC")
        revisions = query_main(settings, "SELECT schema_revision, count(*) FROM tenants WHERE status <> 'deleted' "
                                         "GROUP BY 1 ORDER BY 1")
        table(f"Fleet migration via jobs ({fleet_s:.1f} s for {len(placed)} tenants, `polyflow migrate --via-jobs --wait`)",
              ["procrastinate worker id", "tenants migrated"],
              [[wid if wid is not None else "(worker gone)", n] for wid, n, _, _ in per_worker])
        print("  tenants per revision after: " + ", ".join(f"{rev}: {n}" for rev, n in revisions))
        if len([w for w, _, _, _ in per_worker if w is not None]) < 2:
            ok = False
            print("  MISSED: the migration was not spread over both workers")
        for n, w in enumerate(workers, 1):
            stop_process(w)
        print("load average at the end: " + " ".join(f"{x:.1f}" for x in os.getloadavg()))
        print(f"\nlogs: {logdir}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
