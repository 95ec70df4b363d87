"""GET /metrics: the Prometheus exposition, for the platform's network or the operator token only."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from polyflow.kit.web import client_ip, client_is_trusted
from polyflow.platform.observability.samplers import main_db_families

# Headers a proxy adds: sent by a peer we do not trust, they mean an unknown proxy stands in front of us, and
# the peer address (maybe 127.0.0.1 or a private one) is not the client's. No network grant then.
_FORWARDING = (b"x-forwarded-for", b"x-forwarded-host", b"forwarded", b"x-real-ip")


def _from_allowed_network(request: Request) -> bool:
    settings = request.app.state.platform.settings
    scope = request.scope
    trusted = settings.trusted_proxy_networks
    client = scope.get("client")
    peer = client[0] if client else None
    if not client_is_trusted(peer, trusted) and any(key in _FORWARDING for key, _ in scope["headers"]):
        return False
    return client_is_trusted(client_ip(scope, trusted), settings.metrics_allowed_networks)


async def _operator(request: Request) -> bool:
    """A valid operator token in ``Authorization: Bearer``; wrong ones count against the same per-address
    budget as on the admin API (guessing is throttled), but are answered like any refusal (404)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return False
    from polyflow.kit import web
    from polyflow.platform.admin.auth import _operator_failures_key, operator_actor

    platform = request.app.state.platform
    key = _operator_failures_key(web.client_ip(request.scope, platform.settings.trusted_proxy_networks))
    limit = platform.settings.operator_token_failures_per_minute
    if (await platform.limiter.peek(key)).count >= limit:
        return False
    if operator_actor(platform.settings, token) is not None:
        return True
    await platform.limiter.hit(key, 60)
    return False


class _Fixed:
    """A collector that yields what it was given (one scrape's families)."""

    def __init__(self, families):
        self.families = families

    def collect(self):
        return iter(self.families)


class _Registry:
    """The single-process registry as one collector of the scrape's registry."""

    def __init__(self, registry: CollectorRegistry):
        self.registry = registry

    def collect(self):
        return self.registry.collect()


async def metrics_endpoint(request: Request) -> Response:
    """Prometheus metrics of this node (every worker's, summed) and of the main database; 404 to others."""
    if not (_from_allowed_network(request) or await _operator(request)):
        # As for a path that does not exist: nothing tells an outsider that metrics are here.
        return JSONResponse({"detail": "Not Found"}, status_code=404)
    observability = request.app.state.observability
    await observability.sampler.sample(probe=False)  # this worker's counters as of now
    registry = CollectorRegistry(auto_describe=False)
    metrics = observability.metrics
    if metrics.dir is not None:
        MultiProcessCollector(registry, path=str(metrics.dir))
    else:
        registry.register(_Registry(metrics.registry))
    registry.register(_Fixed(await main_db_families(request.app.state.platform, metrics)))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST,
                    headers={"Cache-Control": "no-store"})
