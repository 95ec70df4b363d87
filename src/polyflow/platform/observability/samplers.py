"""What is not a request: per-process counters copied into the metrics (a background task), and the
main database's view of the fleet read at scrape time.

- ``ProcessSampler`` runs in every worker: it turns the plain counters other objects keep (``RouteCache.stats``,
  ``TenantEngines.stats`` and sizes, the credential cache's ``stats``) into metric increments, probes the main
  database and Redis, and notes its resident memory. Each worker writes its own values, so a scrape served by
  any one of them sums them all (multiprocess mode).
- ``main_db_families`` runs in the worker that serves a scrape: job queue, fleet migrations, onboarding
  durations, backups and tenants, straight from the main database (one process is enough: these are global).
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from sqlalchemy import text

from polyflow.platform.models import MIGRATION_RUN_STATUSES, MIGRATION_TENANT_STATUSES, TENANT_STATUSES
from polyflow.platform.observability.metrics import (
    CREDENTIAL_CACHE_EVENTS, ENGINE_EVENTS, ROUTE_CACHE_EVENTS, Metrics, reap_dead_processes,
)

log = logging.getLogger(__name__)

PROBE_TIMEOUT = 2.0
# procrastinate's job states (procrastinate_job_status); exported as 0 when absent so rules always see them.
JOB_STATUSES = ("todo", "doing", "succeeded", "failed", "cancelled", "aborting", "aborted")
JOB_QUEUES = ("onboarding", "maintenance", "default")
# Onboarding: from the registry row's creation to activation. 1 s .. 10 min.
ONBOARDING_BUCKETS = (1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0)


def _page_size() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 4096


_PAGE = _page_size()


def resident_bytes() -> int | None:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


class _Deltas:
    """Turns a cumulative dict counter into increments (a counter reset, e.g. a new object, counts anew)."""

    def __init__(self) -> None:
        self.last: dict[tuple[int, str], int] = {}

    def take(self, owner: Any, key: str, value: Any) -> float:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return 0
        slot = (id(owner), key)
        previous = self.last.get(slot, 0)
        self.last[slot] = value
        return value - previous if value >= previous else value


class ProcessSampler:
    """Copies this process's counters into the metrics every `interval` seconds (and right before a scrape
    that this process serves, so the scrape is current)."""

    def __init__(self, metrics: Metrics, platform, interval: float):
        self.metrics = metrics
        self.platform = platform
        self.interval = interval
        self.deltas = _Deltas()
        self._lock = asyncio.Lock()

    def sample_counters(self) -> None:
        """The in-memory part (no I/O)."""
        m, p = self.metrics, self.platform
        stats = getattr(p.routes, "stats", None) or {}
        for key in set(ROUTE_CACHE_EVENTS) | set(stats):
            delta = self.deltas.take(p.routes, key, stats.get(key, 0))
            if delta:
                m.route_cache.labels(key).inc(delta)
        engines = p.engines
        estats = getattr(engines, "stats", None) or {}
        for key in set(ENGINE_EVENTS) | set(estats):
            delta = self.deltas.take(engines, key, estats.get(key, 0))
            if delta:
                m.engine_events.labels(key).inc(delta)
        m.engines.set(len(engines))
        m.open_connections.set(engines.open_connections)
        if _node_shared(engines.budget):
            m.budget.set(0)
            m.node_budget.set(engines.budget.limit)
        else:
            m.budget.set(engines.budget.limit)
            m.node_budget.set(0)
        creds = _credential_cache(p)
        if creds is not None:
            cstats = getattr(creds, "stats", None) or {}
            for key in set(CREDENTIAL_CACHE_EVENTS) | set(cstats):
                delta = self.deltas.take(creds, key, cstats.get(key, 0))
                if delta:
                    m.credential_cache.labels(key).inc(delta)
        rss = resident_bytes()
        if rss is not None:
            m.resident_memory.set(rss)

    async def probe(self) -> None:
        """Main DB and Redis answer? (A failure is counted, never raised: the app keeps serving.)"""
        m, p = self.metrics, self.platform
        try:
            async with asyncio.timeout(PROBE_TIMEOUT):
                async with p.main_engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
            m.dependency_up.labels("main_db").set(1)
        except Exception:
            m.dependency_up.labels("main_db").set(0)
            m.dependency_errors.labels("main_db").inc()
        if p.redis is not None:
            try:
                async with asyncio.timeout(PROBE_TIMEOUT):
                    await p.redis.ping()
                m.dependency_up.labels("redis").set(1)
            except Exception:
                m.dependency_up.labels("redis").set(0)
                m.dependency_errors.labels("redis").inc()

    async def sample(self, *, probe: bool = True) -> None:
        async with self._lock:
            self.sample_counters()
            if probe:
                await self.probe()
            if self.metrics.dir is not None:
                reap_dead_processes(self.metrics.dir)

    async def run(self) -> None:
        """The background task of one process (started by the app's lifespan)."""
        while True:
            try:
                await self.sample()
            except asyncio.CancelledError:
                raise
            except Exception:  # a sampler bug must not stop the loop nor the app; logged once per kind
                log.exception("metrics sampling failed")
            await asyncio.sleep(self.interval)


def _node_shared(budget) -> bool:
    """A budget shared by the node's processes (its limit is the node's, its ``used`` this process's)."""
    try:
        from polyflow.platform.tenancy.nodebudget import NodeBudget
    except ImportError:  # before the node budget exists
        return False
    return isinstance(budget, NodeBudget)


def _credential_cache(platform):
    """The verified-credential cache (issue #14, C), once it exists, under the names it may take."""
    for name in ("credentials", "credential_cache"):
        cache = getattr(platform, name, None)
        if cache is not None:
            return cache
    return None


# -- at scrape: the main database ---------------------------------------------------------------------------
_JOBS = text("SELECT queue_name, status::text, count(*) FROM procrastinate_jobs GROUP BY 1, 2")
# How long the oldest due job has waited: since it was deferred, or since its schedule came due.
_JOB_LAG = text("SELECT j.queue_name, extract(epoch FROM now() - min(greatest(coalesce(j.scheduled_at, e.at), e.at))) "
                "FROM procrastinate_jobs j JOIN procrastinate_events e ON e.job_id = j.id AND e.type = 'deferred' "
                "WHERE j.status = 'todo' AND (j.scheduled_at IS NULL OR j.scheduled_at <= now()) GROUP BY 1")
_RUNS = text("SELECT status, count(*) FROM migration_runs GROUP BY 1")
_LATEST_RUN = text("SELECT r.id, r.status, t.status, count(t.id) FROM "
                   "(SELECT id, status FROM migration_runs ORDER BY id DESC LIMIT 1) r "
                   "LEFT JOIN migration_run_tenants t ON t.run_id = r.id GROUP BY 1, 2, 3")
_TENANTS = text("SELECT status, count(*) FROM tenants GROUP BY 1")
_ONBOARDING = text(
    "SELECT " + ", ".join(f"count(*) FILTER (WHERE d <= {b})" for b in ONBOARDING_BUCKETS)
    + ", count(*), coalesce(sum(d), 0) FROM (SELECT extract(epoch FROM activated_at - created_at) AS d "
      "FROM tenants WHERE activated_at IS NOT NULL AND activated_at >= created_at) s")
# Per active tenant, the newest completed backup (or its activation, if it never had one): the oldest of
# these is how late the backups are.
_BACKUPS = text(
    "SELECT coalesce(max(extract(epoch FROM now() - coalesce(b.last, t.activated_at, t.created_at))), 0), "
    "       count(*) FILTER (WHERE b.last IS NULL) "
    "FROM tenants t LEFT JOIN LATERAL (SELECT max(finished_at) AS last FROM backups "
    "     WHERE backups.tenant_id = t.id AND status = 'completed') b ON true WHERE t.status = 'active'")
_BACKUP_FAILURES = text("SELECT count(*) FROM backups WHERE status = 'failed' AND started_at > now() - interval '1 day'")


async def main_db_families(platform, metrics: Metrics) -> list:
    """Gauges read from the main database for one scrape. On failure: none of them (and the failure counted
    in ``polyflow_dependency_errors_total{dependency="main_db"}``), never a failed scrape."""
    try:
        async with asyncio.timeout(PROBE_TIMEOUT * 2):
            async with platform.main_engine.connect() as conn:
                jobs = (await conn.execute(_JOBS)).all()
                lag = (await conn.execute(_JOB_LAG)).all()
                runs = (await conn.execute(_RUNS)).all()
                latest = (await conn.execute(_LATEST_RUN)).all()
                tenants = (await conn.execute(_TENANTS)).all()
                onboarding = (await conn.execute(_ONBOARDING)).one()
                backups = (await conn.execute(_BACKUPS)).one()
                backup_failures = (await conn.execute(_BACKUP_FAILURES)).scalar_one()
    except Exception as exc:
        metrics.dependency_errors.labels("main_db").inc()
        log.warning("metrics: main database not readable at scrape (%s)", type(exc).__name__)
        return []

    families = []
    job_gauge = GaugeMetricFamily("polyflow_jobs", "Jobs in the queue (procrastinate_jobs) by queue and status.",
                                  labels=["queue", "status"])
    counts = {(q, s): 0 for q in JOB_QUEUES for s in JOB_STATUSES}
    for queue, status, count in jobs:
        counts[(queue, status)] = count
    for (queue, status), count in sorted(counts.items()):
        job_gauge.add_metric([queue, status], count)
    families.append(job_gauge)
    lag_gauge = GaugeMetricFamily("polyflow_jobs_oldest_todo_seconds", "Age of the oldest job due and not "
                                  "started, by queue (0: none waiting).", labels=["queue"])
    lags = {q: 0.0 for q in JOB_QUEUES}
    for queue, seconds in lag:
        lags[queue] = float(seconds or 0)
    for queue, seconds in sorted(lags.items()):
        lag_gauge.add_metric([queue], seconds)
    families.append(lag_gauge)

    run_gauge = GaugeMetricFamily("polyflow_fleet_migration_runs", "Fleet migration runs (`polyflow migrate`) "
                                  "by status.", labels=["status"])
    by_status = dict.fromkeys(MIGRATION_RUN_STATUSES, 0) | {status: count for status, count in runs}
    for status, count in sorted(by_status.items()):
        run_gauge.add_metric([status], count)
    families.append(run_gauge)
    latest_id = GaugeMetricFamily("polyflow_fleet_migration_latest_run", "Id of the newest fleet migration run "
                                  "(0: none), labelled with its status.", labels=["status"])
    latest_tenants = GaugeMetricFamily("polyflow_fleet_migration_latest_run_tenants", "Tenants of the newest "
                                       "fleet migration run by status (its progress).", labels=["status"])
    per_tenant = dict.fromkeys(MIGRATION_TENANT_STATUSES, 0)
    if latest:
        latest_id.add_metric([latest[0][1]], latest[0][0])
        for _, _, status, count in latest:
            if status is not None:
                per_tenant[status] = count
    else:
        latest_id.add_metric(["none"], 0)
    for status, count in sorted(per_tenant.items()):
        latest_tenants.add_metric([status], count)
    families += [latest_id, latest_tenants]

    tenant_gauge = GaugeMetricFamily("polyflow_tenants", "Tenants in the registry by status.", labels=["status"])
    for status, count in sorted((dict.fromkeys(TENANT_STATUSES, 0) | dict(tenants)).items()):
        tenant_gauge.add_metric([status], count)
    families.append(tenant_gauge)

    *cumulative, total, seconds = onboarding
    families.append(HistogramMetricFamily(
        "polyflow_onboarding_duration_seconds", "Onboarding time of every activated tenant in the registry, from "
        "its registry row to activation (tenants.created_at -> activated_at).",
        buckets=[(str(b), int(c)) for b, c in zip(ONBOARDING_BUCKETS, cumulative)] + [("+Inf", int(total))],
        sum_value=float(seconds)))

    oldest, never = backups
    families.append(GaugeMetricFamily(
        "polyflow_backup_oldest_age_seconds", "Over active tenants, the longest time since a tenant's newest "
        "completed backup (since activation for a tenant never backed up).", value=float(oldest)))
    families.append(GaugeMetricFamily(
        "polyflow_backup_tenants_without_backup", "Active tenants with no completed backup.", value=int(never)))
    families.append(GaugeMetricFamily(
        "polyflow_backup_failures_last_day", "Backups failed in the last 24 hours.", value=int(backup_failures)))
    return families
