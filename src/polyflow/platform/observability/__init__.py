"""Prometheus metrics: the metric objects, the request middleware, the samplers and GET /metrics.

Only this package imports prometheus_client; other code keeps plain counters (``RouteCache.stats``,
``TenantEngines.stats``, ...) that the samplers read. ``install`` wires it all into the app in one call.
"""

from __future__ import annotations

import asyncio
import contextlib
from contextlib import asynccontextmanager

from fastapi import FastAPI

from polyflow.platform.observability.endpoint import metrics_endpoint
from polyflow.platform.observability.metrics import Metrics
from polyflow.platform.observability.middleware import MetricsMiddleware
from polyflow.platform.observability.samplers import ProcessSampler

PATH = "/metrics"


class Observability:
    """The metrics of one app and the sampler task that feeds them."""

    def __init__(self, platform):
        self.metrics = Metrics(platform.settings)
        self.sampler = ProcessSampler(self.metrics, platform, platform.settings.metrics_sample_seconds)
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self.sampler.run(), name="metrics-sampler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.metrics.close_process()


def install(app: FastAPI, platform, *, tenant_app: FastAPI, admin_app: FastAPI) -> Observability:
    """Add the metrics to the platform app: the outermost middleware (call this after every other
    ``add_middleware``), ``GET /metrics`` (answered on any host: ``/metrics`` is in the tenancy middleware's
    HOSTLESS_PATHS) and the sampler, run for as long as the app's lifespan."""
    observability = Observability(platform)
    app.state.observability = observability
    app.add_api_route(PATH, metrics_endpoint, methods=["GET"], include_in_schema=False)
    app.add_middleware(MetricsMiddleware, metrics=observability.metrics,
                       apps={id(tenant_app): "tenant", id(admin_app): "admin"})
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app_):
        async with inner(app_) as state:
            observability.start()
            try:
                yield state
            finally:
                await observability.stop()

    app.router.lifespan_context = lifespan
    return observability
