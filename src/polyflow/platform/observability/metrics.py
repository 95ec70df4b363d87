"""The metric objects of one app (prefix ``polyflow_``), single-process or shared by the workers of a node.

Multiprocess mode (POLYFLOW_METRICS_DIR or PROMETHEUS_MULTIPROC_DIR set): prometheus-client writes every
value to a memory-mapped file per process in that folder, and a scrape (served by whichever worker gets it)
merges the files: counters and histograms are summed over all processes, dead ones included (so a rate never
goes backwards when a worker is replaced); gauges say how they merge (``livesum``: the sum over live
processes; ``livemin``/``liveall``). The folder must be emptied before the node's workers start
(``polyflow serve`` does it, see ``prepare_node``; otherwise a systemd ``ExecStartPre``, a Kubernetes ``emptyDir``),
and belongs to one node: process ids are only meaningful there.
"""

from __future__ import annotations

import atexit
import glob
import os
import re
import shutil
import tempfile
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, values
from prometheus_client import multiprocess

from polyflow.config import Settings

OTHER = "other"  # tenants beyond the labelled ones
NONE = "none"  # requests not served for a tenant (platform, admin, unknown hosts)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Request latency: 5 ms .. 30 s (a tenant statement times out at 15 s by default).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# The counters other objects keep (ops14): known names are exported as 0 before they happen.
ROUTE_CACHE_EVENTS = ("hit", "redis", "db", "invalidated", "unknown", "stale_served", "invalidation_retries")
ENGINE_EVENTS = ("created", "disposed", "trimmed", "waits", "refused")
CREDENTIAL_CACHE_EVENTS = ("hit", "miss", "invalidated")
DEPENDENCIES = ("main_db", "redis")


def multiprocess_dir(settings: Settings) -> Path | None:
    """The folder shared by this node's workers, or None for single-process mode."""
    if settings.metrics_dir is not None:
        return settings.metrics_dir
    env = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir")
    return Path(env) if env else None


def prepare_node(settings: Settings, workers: int) -> Path | None:
    """For the process that starts a node's workers (`polyflow serve`), before it starts them: the metrics
    folder they will share, emptied of a previous run's files (its counters would be added to this run's).
    Several workers and no folder configured: a fresh temporary one (removed at exit). Exported as
    POLYFLOW_METRICS_DIR to the workers. None: one worker, single-process mode."""
    path = multiprocess_dir(settings)
    if path is None:
        if workers <= 1:
            return None
        path = Path(tempfile.mkdtemp(prefix="polyflow-metrics-"))
        atexit.register(shutil.rmtree, path, True)
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):  # only prometheus-client's files: the folder may be an operator's choice
        stale.unlink(missing_ok=True)
    os.environ["POLYFLOW_METRICS_DIR"] = str(path)
    return path


def _use_multiprocess(path: Path) -> None:
    """Switch prometheus-client to memory-mapped values in `path` (before any metric value is created).

    prometheus-client decides this from the environment when it is first imported; our setting may only be
    known later (pydantic settings, a test's Settings), so the value class is set here explicitly. Metric
    values are created when a metric is built (unlabelled) or a label set is first used, both after this.
    """
    path.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    if values.ValueClass is values.MutexValue:
        values.ValueClass = values.MultiProcessValue()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process with that id: not ours to judge
    # A killed worker stays a zombie until its supervisor reaps it, and signal 0 still reaches a zombie.
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True  # no /proc (not Linux): signal 0 is all we know


_LIVE_FILE = re.compile(r"gauge_live\w+?_(\d+)\.db$")


def reap_dead_processes(path: Path) -> list[int]:
    """Remove the live-gauge files of workers that are gone (killed, crashed, replaced), so their last
    open-connection count or in-progress requests stop being added in. Counters and histograms of dead
    workers are kept on purpose: the totals must not drop. Returns the pids reaped."""
    dead = set()
    for name in glob.glob(os.path.join(path, "gauge_live*.db")):
        match = _LIVE_FILE.search(os.path.basename(name))
        if match and not pid_alive(int(match.group(1))):
            dead.add(int(match.group(1)))
    for pid in dead:
        multiprocess.mark_process_dead(pid, str(path))
    return sorted(dead)


class TenantLabels:
    """Bounds the tenant label: named tenants keep their name, plus the first `top_n` others this process
    serves; every later one is "other".

    "First seen" rather than a true top-N by traffic: re-ranking would move a tenant's counts from one
    series to another and break its rates. After a restart the busiest tenants are the first to come back,
    so in practice the labelled ones are the active ones. Bound per node: W workers x top_n + named + 1.
    """

    def __init__(self, top_n: int, named: str = ""):
        self.top_n = top_n
        self.named = frozenset(n.strip().lower() for n in named.split(",") if n.strip())
        self.seen: set[str] = set()

    def label(self, subdomain: str | None) -> str:
        if subdomain is None:
            return NONE
        if subdomain in self.named or subdomain in self.seen:
            return subdomain
        if len(self.seen) < self.top_n:
            self.seen.add(subdomain)
            return subdomain
        return OTHER


class Metrics:
    """Every metric the app exports (names in the module's README section of the report / ARCHITECTURE)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        # No "_created" series: they double the series count and Prometheus needs none of them here.
        disable_created_metrics()
        self.dir = multiprocess_dir(settings)
        if self.dir is not None:
            _use_multiprocess(self.dir)
            # In multiprocess mode a registry would only hold this process's values; scrapes read the files.
            self.registry = None
        else:
            self.registry = CollectorRegistry(auto_describe=True)
        self.tenants = TenantLabels(settings.metrics_top_tenants, settings.metrics_tenants)
        reg = {"registry": self.registry}

        # -- requests (middleware) --------------------------------------------------------------------------
        self.requests = Counter(
            "polyflow_http_requests", "HTTP requests answered, by app, tenant, route template, method and status.",
            ["app", "tenant", "route", "method", "status"], **reg)
        self.latency = Histogram(
            "polyflow_http_request_duration_seconds", "Time to answer an HTTP request, by app, route template "
            "and method.", ["app", "route", "method"], buckets=LATENCY_BUCKETS, **reg)
        self.tenant_latency = Histogram(
            "polyflow_http_tenant_request_duration_seconds", "Time to answer an HTTP request for a tenant "
            "(all routes).", ["tenant"], buckets=LATENCY_BUCKETS, **reg)
        self.in_progress = Gauge(
            "polyflow_http_requests_in_progress", "HTTP requests being answered.", ["app"],
            multiprocess_mode="livesum", **reg)

        # -- per-process counters copied by the sampler -------------------------------------------------------
        self.route_cache = Counter(
            "polyflow_route_cache_events", "Route cache lookups and invalidations (RouteCache.stats): hit "
            "(in process), redis, db (loaded from the main DB), invalidated, unknown, stale_served, "
            "invalidation_retries.", ["event"], **reg)
        self.credential_cache = Counter(
            "polyflow_credential_cache_events", "Verified-credential cache: hit, miss, invalidated.",
            ["event"], **reg)
        self.engine_events = Counter(
            "polyflow_engine_events", "Tenant engine cache events (TenantEngines.stats): created, disposed, "
            "trimmed (idle connection closed to make room), waits (a lease waited for the budget), refused "
            "(budget exhausted: 503).", ["event"], **reg)
        self.engines = Gauge(
            "polyflow_engines", "Tenant engines held (sum over live processes).",
            multiprocess_mode="livesum", **reg)
        self.open_connections = Gauge(
            "polyflow_engine_open_connections", "Tenant database connections open or reserved (sum over live "
            "processes).", multiprocess_mode="livesum", **reg)
        # Two gauges because the two kinds of budget merge differently: per-process budgets add up over a node's
        # workers, a node budget (POLYFLOW_NODE_CONNECTION_BUDGET) is the same number in each of them. Each
        # process sets the one it has and 0 in the other, so "open / (budget + node budget)" is the saturation.
        self.budget = Gauge(
            "polyflow_engine_connection_budget", "Per-process tenant connection budgets, summed over live "
            "processes (0 under a node budget).", multiprocess_mode="livesum", **reg)
        self.node_budget = Gauge(
            "polyflow_engine_node_connection_budget", "The tenant connection budget shared by the processes of "
            "the node (0 when each process has its own).", multiprocess_mode="livemax", **reg)
        self.dependency_up = Gauge(
            "polyflow_dependency_up", "1 when the last probe of a dependency (main_db, redis) answered, in "
            "every live process (the minimum).", ["dependency"], multiprocess_mode="livemin", **reg)
        self.dependency_errors = Counter(
            "polyflow_dependency_errors", "Failed probes of a dependency (main_db, redis), every "
            "POLYFLOW_METRICS_SAMPLE_SECONDS in each process, plus failed scrape queries of the main DB.",
            ["dependency"], **reg)
        self.resident_memory = Gauge(
            "polyflow_process_resident_memory_bytes", "Resident memory of each live process.",
            multiprocess_mode="liveall", **reg)

        for event in ROUTE_CACHE_EVENTS:
            self.route_cache.labels(event)
        for event in ENGINE_EVENTS:
            self.engine_events.labels(event)
        for event in CREDENTIAL_CACHE_EVENTS:
            self.credential_cache.labels(event)
        for dep in DEPENDENCIES:
            self.dependency_errors.labels(dep)

    def close_process(self) -> None:
        """This process stops: its live gauges stop counting (counters stay, see the module docstring)."""
        if self.dir is not None:
            multiprocess.mark_process_dead(os.getpid(), str(self.dir))
