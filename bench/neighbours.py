"""Benchmark: noisy neighbours and hostile input. Does pt-xyz keep its latency while pt-abc (or anonymous
clients) is attacked?

    python bench/neighbours.py            # 15 s per phase, about 4 minutes on 2 cores
    python bench/neighbours.py --quick    # 5 s per phase, about 2 minutes

Starts its own PostgreSQL (temp folder, fsync off) and Redis, a fresh main database and two tenants made
by the real code: pt-abc (an owner with a password, a viewer with an API token; account 1101 gets
`--lines` journal lines, bulk-inserted by SQL as balanced entries debit 1101 / credit 4100) and pt-xyz (an
owner with an API token). The app runs in its own process (`bench/serve.py`, one uvicorn worker) with
POLYFLOW_TRUSTED_PROXIES=127.0.0.1, so each simulated client has its own address (an `X-Forwarded-For:
10.x.y.z` header value; all traffic stays on 127.0.0.1).

pt-xyz, in its own process (`bench/neighbours_load.py`): `--victim-clients` clients each send GET
/api/v1/products with its token at `--victim-rate` req/s. Latency counts from each request's *scheduled*
send time (as wrk2 does), so a stall shows in full; errors are included; a backlog still unsent one phase
length after the phase is counted as "unsent". Measured at rest, then while another process runs one attack:
3 anonymous clients POSTing 1 MB, then 10 MB, JSON bodies to pt-abc's /api/v1/auth/login back to back;
`--gl-clients` pt-abc viewer clients asking back to back for 1101's general ledger and journal entries
(largest page the OpenAPI schema allows); 12 addresses sending wrong passwords for pt-abc's owner (the
real owner signs in from a 13th half-way); anonymous clients asking for random subdomains. Target (issue
10): zero 5xx and p99 under 3x resting p99 in every row, the owner can sign in during the sign-in flood;
any other pt-xyz error (429, timeout, unsent) also fails a row.

Everything it starts is stopped, and its temp folders removed, also on error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg  # noqa: E402
import httpx  # noqa: E402

from bench import harness  # noqa: E402
from bench.harness import percentile  # noqa: E402

TARGET_RATIO = 3.0
GL_ACCOUNT, CONTRA_ACCOUNT = "1101", "4100"
VICTIM_IP = "10.7.0.1"
OWNER_PASSWORD = "owner-password-correct-horse-battery"
PAGE_PARAMS = ("limit", "page_size", "per_page", "size")
KNOBS = r"inflight|queue|statement_timeout|unknown_host|login_|lockout|body_bytes|json_depth|page_size"
PHASES = ("body1", "body10", "ledger", "signin", "subdomains")
LOAD_WORKER = Path(__file__).resolve().parent / "neighbours_load.py"  # pt-xyz's clients and the attackers


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=15, help="duration of each measured phase")
    p.add_argument("--lines", type=int, default=50_000, help="journal lines on pt-abc's account 1101")
    p.add_argument("--victim-clients", type=int, default=4, help="pt-xyz's concurrent clients")
    p.add_argument("--victim-rate", type=float, default=10, help="requests/s of each pt-xyz client")
    p.add_argument("--gl-clients", type=int, default=4, help="pt-abc viewer clients flooding the ledger")
    p.add_argument("--flood-rate", type=float, default=10,
                   help="requests/s of each sign-in or random-subdomain attacker (0: back to back)")
    p.add_argument("--subdomain-clients", type=int, default=8, help="random-subdomain attackers")
    p.add_argument("--timeout", type=float, default=30, help="client timeout of every request (s)")
    p.add_argument("--only", type=lambda v: set(v.split(",")),
                   help=f"only these attacks, comma-separated, of: {', '.join(PHASES)} (the resting runs always run)")
    p.add_argument("--quick", action="store_true", help="5 s phases, 10 s timeout (explicit options still win)")
    if p.parse_known_args()[0].quick:
        p.set_defaults(seconds=5, timeout=10)
    args = p.parse_args()
    if not (1 <= args.seconds <= 600 and 2 <= args.lines <= 2_000_000):
        p.error("--seconds must be 1..600 and --lines 2..2,000,000")
    if args.only and args.only - set(PHASES):
        p.error(f"--only: unknown {', '.join(sorted(args.only - set(PHASES)))}; choose from {', '.join(PHASES)}")
    return args


# -- setup ---------------------------------------------------------------------------------------------
@dataclass
class Tenant:
    subdomain: str
    host: str
    users: dict[str, tuple[str, str]] = field(default_factory=dict)  # label -> (email, token)


async def load_ledger(conn: asyncpg.Connection, lines: int) -> float:
    """`lines` journal lines on 1101: balanced two-line entries (debit 1101, credit 4100), dated over the
    last 360 days, inserted in batches (the balance check is a deferred trigger: it runs at each COMMIT)."""
    started, step = time.perf_counter(), 10_000
    sql = f"""
        WITH e AS (
            INSERT INTO journal_entries (id, number, doc_type, entry_date, description, source)
            SELECT gen_random_uuid(), 'BENCH/' || lpad(g::text, 8, '0'), 'JV', current_date - (1 + g % 360),
                   'Bench cash sale ' || g, 'manual'
              FROM generate_series($1::int, $2::int) g
            RETURNING id, number)
        INSERT INTO journal_lines (entry_id, account_code, debit, credit, memo)
        SELECT e.id, x.code, CASE WHEN x.debit THEN a.amount ELSE 0 END, CASE WHEN x.debit THEN 0 ELSE a.amount END,
               'bench'
          FROM e
          CROSS JOIN LATERAL (SELECT ((substr(e.number, 7)::int % 997) + 1) * 1000::numeric AS amount) a
          CROSS JOIN (VALUES ('{GL_ACCOUNT}', true), ('{CONTRA_ACCOUNT}', false)) x(code, debit)"""
    for first in range(1, lines + 1, step):
        async with conn.transaction():
            await conn.execute(sql, first, min(lines, first + step - 1))
    # Statistics as autovacuum would have gathered them by now on a live tenant (the planner needs them).
    await conn.execute("ANALYZE journal_entries, journal_lines")
    n, debit, credit = await conn.fetchrow(
        "SELECT count(*) FILTER (WHERE account_code = $1), sum(debit), sum(credit) FROM journal_lines", GL_ACCOUNT)
    if n != lines or debit != credit:
        raise RuntimeError(f"ledger load: {n} lines on {GL_ACCOUNT}, debit {debit} vs credit {credit}")
    return time.perf_counter() - started


async def prepare(admin, settings, lines: int) -> tuple[dict[str, Tenant], str, float]:
    from polyflow.kit.passwords import hash_password
    from polyflow.platform.provisioning import create_tenant
    from polyflow.platform.runtime import Platform

    t = time.perf_counter()
    await harness.build_main_database(admin, settings)
    platform = Platform(settings)
    tenants: dict[str, Tenant] = {}
    owner_hash = hash_password(OWNER_PASSWORD)
    try:
        for sub, users in (("pt-abc", ("owner", "viewer")), ("pt-xyz", ("owner",))):
            await create_tenant(platform, name=f"Bench {sub}", subdomain=sub)
            route = await platform.routes.get("sub:" + sub)
            conn = await asyncpg.connect(**route.dsn(platform.secrets.decrypt(route.db_password_enc)).asyncpg_kwargs())
            tenant = Tenant(sub, f"{sub}.{settings.root_domain}")
            try:
                await conn.executemany(
                    "INSERT INTO products (id, sku, name, unit, sell_price, is_active) "
                    "VALUES (gen_random_uuid(), $1, $2, 'KG', $3, true)",
                    [(f"SKU-{j:03d}", f"Granule grade {j}", j * 1000) for j in range(1, 21)])
                for role in users:
                    email = f"{role}@{sub}.test"
                    token = await harness.add_user(conn, route.id, email, (role,), password_hash=owner_hash)
                    tenant.users[role] = (email, token)
                if sub == "pt-abc":
                    ledger_seconds = await load_ledger(conn, lines)
            finally:
                await conn.close()
            tenants[sub] = tenant
    finally:
        await platform.stop()
    conn = await asyncpg.connect(**admin.asyncpg_kwargs())
    pg_version = (await conn.fetchval("SHOW server_version")).split()[0]
    await conn.close()
    print_progress(f"main database, pt-abc and pt-xyz ready ({time.perf_counter() - t:.1f} s; "
                   f"{lines:,} lines on {GL_ACCOUNT} loaded in {ledger_seconds:.1f} s)")
    return tenants, pg_version, ledger_seconds


def print_progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)  # progress on stderr, the table alone on stdout


def largest_pages(server: harness.ServerProcess, host: str, token: str, paths: list[str]) -> dict[str, dict]:
    """For each GET path, its page-size query parameter at the largest value its OpenAPI schema allows
    (the page caps change while the API is hardened: read them rather than guess)."""
    r = httpx.get(server.base_url + "/openapi.json", headers={"Host": host, "Authorization": f"Bearer {token}"},
                  timeout=30)
    schema = r.json() if r.status_code == 200 else {}
    found = {}
    for path in paths:
        found[path] = params = {}
        for p in ((schema.get("paths") or {}).get(path, {}).get("get") or {}).get("parameters", []):
            if p.get("in") != "query" or p.get("name") not in PAGE_PARAMS:
                continue
            for s in [p.get("schema") or {}, *(p.get("schema") or {}).get("anyOf", [])]:  # Optional[int]: anyOf
                if "maximum" in s or "exclusiveMaximum" in s:
                    params[p["name"]] = int(s.get("maximum", s.get("exclusiveMaximum", 0) - 1))
    return found


# -- phases --------------------------------------------------------------------------------------------
@dataclass
class Phase:
    key: str  # for --only
    label: str
    attack: dict | None = None  # the attack worker's spec (without base_url/timeout)
    owner_login: bool = False
    drift_check: bool = False  # a second resting run: how much the baseline moved (other load on the machine)
    victim: dict = field(default_factory=dict)
    attacker: dict = field(default_factory=dict)
    owner: str = ""
    settle: float = 0.0
    server_cpu: float = 0.0  # share of one core the server process used while pt-xyz was measured
    server_waited: float = 0.0  # share of that time its event loop was runnable but waited for a CPU


class Runner:
    def __init__(self, stack: contextlib.ExitStack, workdir: Path, server: harness.ServerProcess, args):
        self.stack, self.workdir, self.server, self.args = stack, workdir, server, args
        self._n = 0

    def spawn(self, kind: str, spec: dict) -> subprocess.Popen:
        self._n += 1
        path = self.workdir / f"{kind}-{self._n}.json"  # holds tokens: in the bench's private temp folder
        # Attackers wait for their answers (a phase's end cuts them off); pt-xyz's clients give up at --timeout.
        timeout = self.args.timeout if kind == "victim" else 120
        path.write_text(json.dumps({"base_url": self.server.base_url, "timeout": timeout, **spec}))
        # Attackers run at a lower CPU priority: on a real network their CPU would not be the server's, and
        # on 2 shared cores an attacker busy building its requests would otherwise starve the server.
        proc = subprocess.Popen([sys.executable, str(LOAD_WORKER), kind, "--spec", str(path)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True,
                                preexec_fn=(lambda: os.nice(10)) if kind == "attack" else None)
        self.stack.callback(_kill, proc)
        return proc

    @staticmethod
    def result(proc: subprocess.Popen, limit: float) -> dict:
        """The worker's JSON result; closing its stdin (communicate does) is an attack worker's stop signal."""
        out, _ = proc.communicate(timeout=limit)
        line = next((l for l in out.splitlines() if l.startswith("RESULT ")), None)
        if proc.returncode != 0 or line is None:
            raise RuntimeError(f"load worker failed ({proc.returncode}): {out[-2000:]}")
        return json.loads(line.removeprefix("RESULT "))

    def settle(self, limit: float = 120) -> float:
        """Wait until the server answers /healthz within 100 ms again (bounded); returns the wait."""
        started = time.perf_counter()
        while time.perf_counter() - started < limit:
            t = time.perf_counter()
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.server.base_url + "/healthz", timeout=limit).status_code == 200 \
                        and time.perf_counter() - t < 0.1:
                    return time.perf_counter() - started
            time.sleep(0.2)
        raise RuntimeError(f"the server did not recover within {limit:.0f} s:\n{self.server.log_tail()}")

    def measure(self, phase: Phase, victim_spec: dict, owner: tuple[str, str, str]) -> None:
        a = self.args
        attacker = None
        if phase.attack is not None:
            attacker = self.spawn("attack", phase.attack)
            if attacker.stdout.readline().strip() != "ready":  # bodies built, clients about to start
                raise RuntimeError("attack worker did not start")
            time.sleep(1.0)  # the attack is in full swing before pt-xyz is measured
        pid = self.server.proc.pid
        cpu0, wait0, t0 = cpu_seconds(pid), runqueue_wait(pid), time.perf_counter()
        att0 = cpu_seconds(attacker.pid) if attacker else 0.0
        victim_proc = self.spawn("victim", {**victim_spec, "seconds": a.seconds, "grace": a.seconds})
        if phase.owner_login:
            time.sleep(a.seconds / 2)
            phase.owner = self.owner_signs_in(*owner)
        phase.victim = self.result(victim_proc, 2 * a.seconds + a.timeout + 30)
        wall = time.perf_counter() - t0
        phase.server_cpu = (cpu_seconds(pid) - cpu0) / wall
        phase.server_waited = (runqueue_wait(pid) - wait0) / wall
        if attacker is not None:
            attacker_cpu = (cpu_seconds(attacker.pid) - att0) / wall
            phase.attacker = {**self.result(attacker, a.timeout + 30), "cpu": attacker_cpu}
        phase.settle = self.settle()
        v = phase.victim
        print_progress(f"  {phase.label}: {len(v['latencies'])} pt-xyz requests, p99 "
                       f"{percentile(v['latencies'], 99) * 1000:,.1f} ms, {v['status']}; attacker "
                       f"{phase.attacker.get('sent', '-')} {phase.attacker.get('status', '')}; "
                       f"settled in {phase.settle:.1f} s")

    def owner_signs_in(self, host: str, email: str, password: str) -> str:
        """The real owner signs in from a 13th address: "yes (200 in 80 ms)" or "no (429 ...: why)"."""
        t = time.perf_counter()
        try:
            r = httpx.post(self.server.base_url + "/api/v1/auth/login", json={"email": email, "password": password},
                           headers={"Host": host, "X-Forwarded-For": "10.9.0.13"}, timeout=self.args.timeout)
            detail = "" if r.is_success else f": {str(r.json().get('detail'))[:60]}"
        except (httpx.HTTPError, ValueError) as e:
            return f"no ({type(e).__name__})"
        ok = "yes" if r.is_success else "no"  # 202: the password was accepted, a second factor is asked for
        return f"{ok} ({r.status_code} in {(time.perf_counter() - t) * 1000:,.0f} ms{detail})"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc; its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def runqueue_wait(pid: int) -> float:
    """Seconds the process's main thread (the event loop) has spent runnable but waiting for a CPU."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait(5)


def build_phases(args, tenants: dict[str, Tenant], pages: dict[str, dict], root: str) -> list[Phase]:
    abc = tenants["pt-abc"]

    def req(method: str, path: str, ip: str, headers: dict | None = None, **extra) -> dict:
        return {"method": method, "path": path, "headers": {"Host": abc.host, **(headers or {}),
                                                            "X-Forwarded-For": ip}, **extra}

    login, json_type = "/api/v1/auth/login", {"Content-Type": "application/json"}
    gl_q = httpx.QueryParams(pages.get("/api/v1/reports/general-ledger/{code}", {}))
    gl = f"/api/v1/reports/general-ledger/{GL_ACCOUNT}" + (f"?{gl_q}" if gl_q else "")
    je = "/api/v1/journal-entries?" + str(httpx.QueryParams({"account": GL_ACCOUNT,
                                                             **pages.get("/api/v1/journal-entries", {})}))
    viewer = {"Authorization": f"Bearer {abc.users['viewer'][1]}"}
    wrong = lambda k: {"email": abc.users["owner"][0], "password": f"guess-{k}"}  # noqa: E731
    return [
        Phase("rest", "at rest"),
        *(Phase(f"body{mb}", f"3 clients POST {mb} MB JSON to pt-abc sign-in", {"clients": [
            {"body": mb * 2**20, "requests": [req("POST", login, f"10.9.2.{k}", json_type)]} for k in range(1, 4)]})
          for mb in (1, 10)),
        Phase("ledger", f"{args.gl_clients} pt-abc viewer clients: GL + journal list of {GL_ACCOUNT}", {"clients": [
            {"requests": [req("GET", gl, f"10.9.3.{k}", viewer, follow_cursor=True),
                          req("GET", je, f"10.9.3.{k}", viewer, follow_cursor=True)]}
            for k in range(1, args.gl_clients + 1)]}),
        Phase("signin", "12 IPs: wrong passwords for pt-abc's owner", {"rate": args.flood_rate, "clients": [
            {"requests": [req("POST", login, f"10.9.0.{k}", json=wrong(k))]} for k in range(1, 13)]}, owner_login=True),
        # The Host header is replaced by a random subdomain on every request.
        Phase("subdomains", f"{args.subdomain_clients} anonymous clients: random subdomains", {
            "rate": args.flood_rate,
            "clients": [{"random_host": root, "requests": [req("GET", "/api/v1/tenant", f"10.9.1.{k}")]}
                        for k in range(1, args.subdomain_clients + 1)]}),
        Phase("rest", "at rest again (drift check, no target)", drift_check=True),
    ]


# -- output --------------------------------------------------------------------------------------------
def render(phases: list[Phase], args, info: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 200)
    console.print()
    console.print(f"[bold]Command[/]: {info['command']}")
    console.print(
        f"[bold]Machine[/]: {harness.machine_line()}; load average {info['load'][0]:.2f} at start / "
        f"{info['load'][1]:.2f} at end; uvicorn: 1 worker, own process; PostgreSQL {info['pg']} (fsync=off, "
        f"same machine); Redis; polyflow at git {harness.git_state()}.")
    console.print(
        f"[bold]Setup[/]: pt-abc has {args.lines:,} journal lines on {GL_ACCOUNT} (balanced entries, loaded in "
        f"{info['ledger_s']:.1f} s); server settings at their defaults except POLYFLOW_TRUSTED_PROXIES=127.0.0.1 "
        f"({info['knobs']}). Largest pages asked for: {info['pages']}.")
    console.print(
        f"[bold]Load[/]: pt-xyz = {args.victim_clients} clients x {args.victim_rate:g} req/s of GET "
        f"/api/v1/products (Bearer token, X-Forwarded-For {VICTIM_IP}), {args.seconds:g} s per phase, its own "
        f"process; latency from the scheduled send time, errors included; timeout {args.timeout:g} s. Attackers "
        f"in another process (nice 10), started 1 s before; sign-in and subdomain attackers paced at "
        f"{args.flood_rate:g} req/s each (0 = back to back), the others back to back. Login bodies: "
        f'{{"email": ["xxxxxxxxxxxxxx", ...], "password": "x"}}.')
    table = Table(title=f"pt-xyz while pt-abc or anonymous clients attack (target: zero 5xx and p99 < "
                        f"{TARGET_RATIO:g}x resting p99; any other pt-xyz error also fails)", title_justify="left")
    for col in ("scenario", "pt-xyz requests", "p50 ms", "p99 ms", "p99 / resting p99", "5xx", "other errors",
                "server CPU / CPU wait", "attacker requests / statuses", "verdict"):
        table.add_column(col, justify="left" if col in ("scenario", "other errors", "attacker requests / statuses",
                                                       "verdict") else "right")
    resting = percentile(phases[0].victim["latencies"], 99)
    all_met = True
    for ph in phases:
        v = ph.victim
        lat = v["latencies"]
        p99 = percentile(lat, 99)
        five = sum(n for s, n in v["status"].items() if s.isdigit() and s.startswith("5"))
        other = {s: n for s, n in v["status"].items() if not (s.isdigit() and (s.startswith("2") or s.startswith("5")))}
        ratio = p99 / resting
        reasons = []
        if five:
            reasons.append(f"{five} 5xx")
        if ph is not phases[0] and not ph.drift_check and ratio >= TARGET_RATIO:
            reasons.append(f"p99 {ratio:.1f}x")
        if other:
            reasons.append("errors")
        if ph.owner_login and not ph.owner.startswith("yes"):
            reasons.append("owner locked out")
        all_met &= not reasons
        verdict = ("[green]baseline[/]" if ph is phases[0] and not reasons else
                   "[dim]info[/]" if ph.drift_check and not reasons else
                   "[bold green]met[/]" if not reasons else "[bold red]NOT met[/]: " + ", ".join(reasons))
        att = ph.attacker
        attack = "-"
        if att:
            statuses = ", ".join(f"{s}: {n:,}" for s, n in sorted(att["status"].items()))
            attack = f"{att['sent']:,} sent ({statuses or 'none answered'})"
            if att.get("cut_off"):
                attack += f", {att['cut_off']} cut off at the end"
            if att.get("max_bytes", 0) > 100_000:
                attack += f"; largest answer {att['max_bytes'] / 1e6:.1f} MB"
            if att.get("cursors_followed"):
                attack += f"; {att['cursors_followed']:,} next_cursor pages"
            attack += f"; attacker CPU {att['cpu']:.0%}"
            if att["sent"] and att.get("seconds"):
                # What one attacker request costs the server, over what pt-xyz's stream costs at rest.
                extra = (ph.server_cpu - phases[0].server_cpu) / (att["sent"] / att["seconds"]) * 1000
                attack += f"; server CPU per attacker request ~{max(extra, 0):.1f} ms"
        if ph.owner_login:
            attack += f"; owner from a 13th IP signs in: {ph.owner}"
        table.add_row(ph.label, f"{len(lat):,} / {v['scheduled']:,}", f"{percentile(lat, 50) * 1000:,.1f}",
                      f"{p99 * 1000:,.1f}", "-" if ph is phases[0] else f"{ratio:.1f}x", str(five),
                      ", ".join(f"{s}: {n}" for s, n in sorted(other.items())) or "0",
                      f"{ph.server_cpu:.0%} / {ph.server_waited:.0%}", attack, verdict)
    console.print(table)
    console.print(f"pt-xyz requests = answered (or failed) / scheduled; a backlog still unsent {args.seconds:g} s "
                  f"after the phase is counted as 'unsent'. Server CPU = its process's CPU time / wall time while "
                  f"pt-xyz was measured (100% = one core; above = threads such as password hashing); CPU wait = the "
                  f"share of that time its event loop was ready to run but waited for a core (high: the cores are "
                  f"oversubscribed, by other processes or the server's own threads). Server back to normal after each "
                  f"phase in: {', '.join(f'{ph.settle:.1f} s' for ph in phases)}. Overall: "
                  + ("[bold green]every row met[/]" if all_met else "[bold red]target NOT met[/]"))
    cores = len(os.sched_getaffinity(0))
    if max(info["load"]) > cores or phases[0].server_waited > 0.2:
        console.print(f"[bold yellow]The machine was busy[/] (load average up to {max(info['load']):.1f} on {cores} "
                      f"cores; at rest the server's event loop waited for a core {phases[0].server_waited:.0%} of the "
                      "time): the ratios measure that contention as much as the server. Quote figures from a quiet "
                      "machine.")


# -- main ----------------------------------------------------------------------------------------------
def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind like Ctrl-C: the ExitStack stops all
    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C unwinds even if started with SIGINT ignored
    started = time.perf_counter()
    load_start = os.getloadavg()[0]
    with contextlib.ExitStack() as stack:
        workdir, _load, admin, redis = harness.start_services(stack, prefix="pf-bench-neighbours-", load_kind="python",
                                                               say=print_progress)
        settings = harness.bench_settings(admin.with_database(harness.MAIN_DB).url("postgresql"), redis.url,
                                          trusted_proxies="127.0.0.1")
        tenants, pg_version, ledger_s = harness.run_async(prepare(admin, settings, args.lines))
        server = harness.ServerProcess(settings, workdir).start(stack)
        abc, xyz = tenants["pt-abc"], tenants["pt-xyz"]
        check(server, abc, xyz)
        pages = largest_pages(server, abc.host, abc.users["viewer"][1],
                              ["/api/v1/journal-entries", "/api/v1/reports/general-ledger/{code}"])
        print_progress(f"server up; both tenants answer their tokens; largest pages: {pages}")

        runner = Runner(stack, workdir, server, args)
        victim_spec = {"path": "/api/v1/products?limit=20", "clients": args.victim_clients, "rate": args.victim_rate,
                       "headers": {"Host": xyz.host, "Authorization": f"Bearer {xyz.users['owner'][1]}",
                                   "X-Forwarded-For": VICTIM_IP}}
        # Warm-up: pooled connections, caches, the first-request costs, not counted.
        runner.result(runner.spawn("victim", {**victim_spec, "seconds": 2, "grace": 2}), 4 + args.timeout + 30)
        owner = (abc.host, abc.users["owner"][0], OWNER_PASSWORD)
        phases = [ph for ph in build_phases(args, tenants, pages, settings.root_domain)
                  if ph.key == "rest" or not args.only or ph.key in args.only]
        for phase in phases:
            runner.measure(phase, victim_spec, owner)
        server.stop()
        info = {"command": " ".join(["python", "bench/neighbours.py", *sys.argv[1:]]),
                "load": (load_start, os.getloadavg()[0]), "pg": pg_version, "ledger_s": ledger_s,
                # The limits this bench exercises, whatever they are called today.
                "knobs": ", ".join(f"{k}={getattr(settings, k)}" for k in type(settings).model_fields
                                   if re.search(KNOBS, k)),
                "pages": "; ".join(f"{p} {q or '(no page parameter)'}" for p, q in pages.items())}
        render(phases, args, info)
        print_progress(f"done in {time.perf_counter() - started:.0f} s; stopping services")
    return 0


def check(server: harness.ServerProcess, abc: Tenant, xyz: Tenant) -> None:
    """Before timing: pt-xyz's owner and pt-abc's viewer get 200 with their tokens; the owner's password works."""
    with httpx.Client(base_url=server.base_url, timeout=60) as c:
        for r in (c.get("/api/v1/products",
                        headers={"Host": xyz.host, "Authorization": f"Bearer {xyz.users['owner'][1]}"}),
                  c.get(f"/api/v1/journal-entries?account={GL_ACCOUNT}&limit=1",
                        headers={"Host": abc.host, "Authorization": f"Bearer {abc.users['viewer'][1]}"}),
                  c.post("/api/v1/auth/login", json={"email": abc.users["owner"][0], "password": OWNER_PASSWORD},
                         headers={"Host": abc.host, "X-Forwarded-For": "10.9.0.200"})):
            if not r.is_success:
                raise RuntimeError(f"{r.request.headers['host']} {r.request.url.path} -> {r.status_code} "
                                   f"{r.text[:200]}")


if __name__ == "__main__":
    sys.exit(main())
