"""The per-process platform runtime: main-DB engine, Redis, route cache and tenant engines.

Built once by the app's lifespan (or a CLI command) and torn down at shutdown. Nothing here is a
global: the web app and the CLI each hold the instance they built.
"""

from __future__ import annotations

import asyncio
import logging

from redis.asyncio import BlockingConnectionPool, Redis
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from polyflow.config import Settings
from polyflow.kit.crypto import SecretBox
from polyflow.kit.db import PgDsn
from polyflow.kit.ratelimit import RateLimiter
from polyflow.platform.tenancy.cache import RouteCache
from polyflow.platform.tenancy.credentials import CredentialCache
from polyflow.platform.tenancy.engines import TenantEngines
from polyflow.platform.tenancy.hosts import HostParser
from polyflow.platform.tenancy.registry import Registry, route_key

log = logging.getLogger(__name__)


def main_engine_for(settings: Settings, **kw) -> AsyncEngine:
    if not settings.database_url:
        raise RuntimeError("POLYFLOW_DATABASE_URL is not set (run `polyflow dev` for the embedded default)")
    dsn = PgDsn.parse(settings.database_url)
    kw.setdefault("pool_size", 5)
    kw.setdefault("max_overflow", 5)
    return create_async_engine(dsn.url(), pool_pre_ping=True, **kw)


class Platform:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.secrets = SecretBox(settings.secret_key.get_secret_value())
        self.hosts = HostParser(settings.root_domain, settings.admin_subdomain)
        self.main_engine = main_engine_for(settings)
        self.redis: Redis | None = None
        if settings.redis_url:
            pool = BlockingConnectionPool.from_url(
                settings.redis_url,
                max_connections=50,
                timeout=settings.redis_timeout * 4,
                socket_timeout=settings.redis_timeout,
                socket_connect_timeout=settings.redis_timeout,
            )
            self.redis = Redis(connection_pool=pool)
        self.registry = Registry(self.main_engine)
        self.routes = RouteCache(
            self.registry.load,
            self.redis,
            namespace=settings.redis_namespace,
            ttl=settings.route_cache_ttl,
            negative_ttl=settings.route_negative_ttl,
            maxsize=settings.route_cache_size,
            redis_ttl=settings.redis_route_ttl,
            names=self.registry.keys,
            changes=self.registry.changed_since,
            stale_seconds=settings.route_stale_seconds,
        )
        # Verified API tokens and sessions (filled and invalidated by the ERP); its pub/sub channel rides on
        # the route cache's listener, so a reconnect clears both.
        self.credentials = CredentialCache(self.redis, namespace=settings.redis_namespace,
                                           ttl=settings.credential_cache_seconds,
                                           maxsize=settings.credential_cache_size)
        self.routes.subscribe(self.credentials.channel, self.credentials.on_message)
        self.engines = TenantEngines.from_settings(settings, self.secrets.decrypt)
        # Login throttles and lockouts (Redis, or this process when Redis is absent or down).
        self.limiter = RateLimiter(self.redis, settings.redis_namespace)
        self._tasks: list[asyncio.Task] = []

    async def start(self, *, background: bool = True) -> None:
        """Start the background tasks (invalidation listener, idle-engine sweeper)."""
        if background:
            self._tasks.append(asyncio.create_task(self.routes.listen(), name="route-invalidation"))
            try:
                if self.redis is not None:
                    # Subscribed first, so no tenant created while the names load can be missed.
                    await asyncio.wait_for(self.routes.listening.wait(), 2)
                # Before serving: an unknown Host is then answered without a query from the first request.
                await asyncio.wait_for(self.routes.reload_names(), 10)
            except Exception as exc:  # Redis or the main DB is not there yet: the tasks keep trying
                log.warning("routable names not loaded at start (%s)", exc)
            # Without Redis nothing tells this process of a tenant created elsewhere: reload as often as a
            # negative cache entry lives, so a new name waits no longer than it would behind one.
            every = self.settings.known_hosts_refresh_seconds
            if self.redis is None:
                every = min(every, self.settings.route_negative_ttl)
            self._tasks.append(asyncio.create_task(self.routes.keep_names(every), name="routable-names"))
            self._tasks.append(asyncio.create_task(self.routes.keep_polling(self.settings.route_poll_seconds),
                                                   name="registry-changes"))
            self._tasks.append(asyncio.create_task(self.engines.run_sweeper(), name="engine-sweeper"))

    async def stop(self) -> None:
        if self.redis is not None:
            # A short-lived process (the CLI) gives a failed invalidation a moment to get through; what remains
            # is found by the servers' poll of the main database (the tenant row's updated_at moved).
            if not await self.routes.flush_pending(2.0):
                log.warning("%d route invalidations not delivered to Redis; the servers' registry poll "
                            "(every %g s) drops them", self.routes.pending_invalidations,
                            self.settings.route_poll_seconds)
            await self.credentials.drain()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        await self.engines.dispose_all()
        await self.main_engine.dispose()
        if self.redis is not None:
            await self.redis.aclose()

    async def tenant_changed(self, subdomain: str, domains: list[str] = (), tenant_id=None) -> None:
        """Call after committing any change to a tenant's registry row."""
        keys = [route_key("sub", subdomain), *(route_key("dom", d) for d in domains)]
        await self.routes.invalidate(keys)
        if tenant_id is not None:
            # Suspended, moved, restored...: no credential verified before the change is reused.
            self.credentials.tenant_changed(tenant_id)
            await self.engines.evict(tenant_id)
