"""The one Settings object. Every knob is an environment variable prefixed ``POLYFLOW_``."""

from __future__ import annotations

import ipaddress
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# A recognisable default so that it can be refused outside development.
DEV_SECRET_KEY = "polyflow-dev-secret-do-not-use-in-production"


@lru_cache(maxsize=64)
def _networks(value: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in value.split(",") if item.strip())


class Settings(BaseSettings):
    """Runtime configuration (see README "Configuration")."""

    model_config = SettingsConfigDict(env_prefix="POLYFLOW_", extra="ignore")

    env: Literal["dev", "test", "production"] = "production"
    # Main (platform) database, ``postgresql://user:pass@host:port/db``. Unset -> embedded local cluster.
    database_url: str | None = None
    # Unset -> in-process route cache only (no cross-process invalidation).
    redis_url: str | None = None
    # Prefix for every Redis key and channel, so several deployments (or test runs) can share one Redis.
    redis_namespace: str = "polyflow"

    root_domain: str = "localhost"
    admin_subdomain: str = "admin"
    # Comma-separated IPs/CIDRs whose X-Forwarded-Host / X-Forwarded-For we believe.
    trusted_proxies: str = ""
    secret_key: SecretStr = SecretStr(DEV_SECRET_KEY)

    # Per-tenant engine cache and the global connection budget (per process).
    # Engines share their server's dialect and statement cache: ~20 KiB each (was ~220 KiB), so every tenant of a
    # busy node can keep its engine.
    engine_cache_size: int = Field(2000, ge=1)
    tenant_pool_size: int = Field(3, ge=1)
    tenant_connection_budget: int = Field(40, ge=1)
    budget_wait_seconds: float = Field(5.0, gt=0)
    engine_idle_seconds: float = Field(300.0, gt=0)
    tenant_connect_timeout: float = Field(5.0, gt=0)
    # Tenant connections shared by all the processes of a node (uvicorn workers, job workers started with the
    # same settings): 0 = off (each process has tenant_connection_budget). Held as file locks in
    # node_budget_dir (default: <tmp>/polyflow), so a crashed worker gives its slots back at once.
    node_connection_budget: int = Field(0, ge=0)
    node_budget_dir: Path | None = None
    # Fair share per tenant (per process): requests served at once for one tenant; beyond it up to
    # `tenant_queue_size` wait at most `tenant_queue_seconds`, the rest get 429 + Retry-After.
    tenant_max_inflight: int = Field(16, ge=1)
    tenant_queue_size: int = Field(64, ge=0)
    tenant_queue_seconds: float = Field(2.0, ge=0)
    # Limits on every tenant session (app connections and the tenant's role), seconds; 0 disables.
    tenant_statement_timeout: float = Field(15.0, ge=0)
    tenant_idle_tx_timeout: float = Field(60.0, ge=0)
    # Unknown hosts (random subdomains) answered per client IP and minute before 429s.
    unknown_host_per_minute: int = Field(60, ge=1)
    # How often each process reloads the set of routable names (a name outside it is 404 without a query).
    known_hosts_refresh_seconds: float = Field(60.0, gt=0)

    # Route cache: in-process TTL, negative TTL, size; Redis TTL.
    route_cache_ttl: float = Field(30.0, gt=0)
    route_negative_ttl: float = Field(5.0, gt=0)
    route_cache_size: int = Field(10_000, ge=1)
    redis_route_ttl: int = Field(300, ge=1)
    redis_timeout: float = Field(0.25, gt=0)
    # Every process asks the main database for tenants changed since its last look this often and drops them
    # from its caches and Redis: the durable backstop when an invalidation (Redis DEL/PUBLISH) was lost.
    route_poll_seconds: float = Field(5.0, gt=0)
    # Main database unreachable: a tenant's last known route is served for this long after it was obtained
    # (suspended tenants stay refused); 0 disables.
    route_stale_seconds: float = Field(900.0, ge=0)
    # Verified credentials (API tokens, sessions) cached per process: lifetime and size. Revocations reach
    # every process through Redis at once; without Redis this is how long a revoked token may still work.
    credential_cache_seconds: float = Field(10.0, ge=0)
    credential_cache_size: int = Field(20_000, ge=1)

    # Operators' automation token for the admin API (Authorization: Bearer ...). Unset -> admin API closed.
    operator_token: SecretStr | None = None
    # Older SECRET_KEYs still accepted for decryption (comma-separated) while `polyflow secrets rotate` runs.
    old_secret_keys: SecretStr | None = None
    # Tenant backups (pg_dump custom format) are written here.
    backup_dir: Path = Path(".polyflow/backups")
    # Ready-made clones of the tenant template kept per server, so onboarding renames one instead of
    # waiting for CREATE DATABASE (0 disables).
    spare_databases: int = Field(2, ge=0, le=50)
    # Folder of pg_dump/pg_restore; unset -> the newest /usr/lib/postgresql/*/bin, then PATH.
    pg_bin: Path | None = None
    # Billing: days from issue to due date, and grace days after it before a tenant is suspended.
    invoice_due_days: int = Field(14, ge=0)
    billing_grace_days: int = Field(7, ge=0)
    # Where issued invoices go for payment ("none": nothing; a gateway plugs in here).
    payment_provider: str = "none"

    # Extra folders of tenant revisions (os.pathsep-separated) added on top of the shipped tree, for
    # tests and benchmarks only (see platform/migrate.py); never set in production.
    tenant_migrations_extra: str = ""
    # A fleet migration run whose heartbeat (written every few seconds by its process) is older than
    # this counts as aborted (its process is gone; on its own host a dead pid says so at once).
    fleet_run_stale_seconds: float = Field(60.0, gt=0)

    # Sign-in: sessions end after `session_hours`, or after `session_idle_minutes` without a request.
    session_hours: float = Field(12.0, gt=0)
    session_idle_minutes: float = Field(120.0, gt=0)
    # Login throttling per minute per client IP, and a per-workspace rate beyond which only clients without
    # recent failures (or with a known-device cookie) may try. Password and TOTP checks are locked per
    # (account, client IP): `lockout_failures` tries, then one try per lock, each lock twice as long as the
    # last, from `lockout_minutes` up to `lockout_max_minutes` (an attacker never locks out the owner elsewhere).
    login_ip_per_minute: int = Field(20, ge=1)
    login_tenant_per_minute: int = Field(200, ge=1)
    lockout_failures: int = Field(5, ge=1)
    lockout_minutes: int = Field(15, ge=1)
    lockout_max_minutes: int = Field(1440, ge=1)
    # Wrong second-factor codes per account per hour, from all addresses together (the password is known).
    mfa_failures_per_hour: int = Field(20, ge=1)
    # Step-up: minutes a password or TOTP confirmation keeps tokens, invites, roles and 2FA changes open.
    step_up_minutes: int = Field(10, ge=1)
    # API tokens: lifetime when none is asked for, and the longest allowed (days).
    token_default_days: int = Field(90, ge=1)
    token_max_days: int = Field(366, ge=1)
    # Ledger posting window: no journal dated before `posting_date_min` or more than
    # `posting_future_days` after today (stock postings may not be dated after today at all).
    posting_date_min: date = date(2000, 1, 1)
    posting_future_days: int = Field(366, ge=0, le=3660)
    # Goods receipts may exceed the ordered quantity by this percent of it (0: never more than ordered).
    receipt_tolerance_percent: Decimal = Field(Decimal(0), ge=0, le=100)
    # One-time links: password reset (minutes) and invitations (days).
    reset_link_minutes: int = Field(60, ge=1)
    invite_link_days: int = Field(7, ge=1)
    # How outgoing mail leaves: "console" prints it (links and all: development only), "none" keeps it
    # in each tenant's outbox. Unset: "console" in dev/test, "none" in production.
    mail_sender: Literal["console", "smtp", "none"] | None = None
    # "smtp": the relay to send through (STARTTLS unless smtp_starttls is false; login when a username is set).
    smtp_host: str | None = None
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    mail_from: str = "Polyflow <no-reply@polyflow.id>"
    # Links in mail written outside a request (onboarding invites): scheme and port of the public site.
    public_scheme: Literal["http", "https"] = "https"
    public_port: int | None = None
    # Operator tokens still accepted while automation moves to a new POLYFLOW_OPERATOR_TOKEN (comma-separated).
    old_operator_tokens: SecretStr | None = None
    # `polyflow dev`: the demo owners' password (unset: a generated one, printed at start).
    dev_password: SecretStr | None = None

    # Limits checked before any work (kit/limits.py): request body size in bytes (routes flagged as imports
    # get the larger cap) and how deep a JSON body may nest.
    max_body_bytes: int = Field(1024 * 1024, ge=1024)
    max_import_body_bytes: int = Field(20 * 1024 * 1024, ge=1024)
    max_json_depth: int = Field(32, ge=2, le=512)

    # Where `polyflow dev` keeps its PostgreSQL cluster and secrets.
    data_dir: Path = Path(".polyflow")
    dev_pg_port: int = 54329

    # Admin host: comma-separated IPs/CIDRs allowed to reach it at all (empty: any address). The client
    # address follows the trusted-proxy rules (X-Forwarded-For only from POLYFLOW_TRUSTED_PROXIES).
    admin_allowed_ips: str = ""
    # Failed operator-token attempts per client IP and minute before the admin API answers 429.
    operator_token_failures_per_minute: int = Field(10, ge=1)

    # Logs (kit/logs.py): "json" (one object per line) or "text"; unset: json in production, text in dev/test.
    log_format: Literal["json", "text"] | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    # A fault that repeats logs its trace once, then a count at most this often (seconds), then "recovered".
    log_outage_summary_seconds: float = Field(60.0, gt=0)
    # /readyz: how long each check may take, and how long the main database's revision check is reused.
    ready_timeout: float = Field(1.0, gt=0)
    ready_revision_cache_seconds: float = Field(5.0, ge=0)
    # After SIGTERM, /readyz answers 503 for this long while requests are still served, so the load balancer
    # stops sending before the process stops listening. Unset: 5 s in production, 0 in dev/test.
    drain_seconds: float | None = Field(None, ge=0)

    # Prometheus metrics (platform/observability). GET /metrics answers on any host, but only to clients in
    # `metrics_allowed_ips` (after the trusted-proxy rules; loopback by default: a private range would also
    # admit a load balancer that is not declared a trusted proxy, i.e. the whole internet behind it) or
    # with `Authorization: Bearer <POLYFLOW_OPERATOR_TOKEN>`; anyone else gets 404.
    metrics_allowed_ips: str = "127.0.0.0/8,::1"
    # Several worker processes on one node: a folder of their own (emptied before the node starts) where
    # each writes its values, summed at scrape (PROMETHEUS_MULTIPROC_DIR is honoured too). Unset: one process.
    metrics_dir: Path | None = None
    # Tenant label: the first `metrics_top_tenants` tenants a process serves get their own (plus those
    # named in `metrics_tenants`, comma-separated subdomains); the rest are counted as "other".
    metrics_top_tenants: int = Field(50, ge=0)
    metrics_tenants: str = ""
    # How often each process copies its counters (route cache, engines, probes) into the metrics.
    metrics_sample_seconds: float = Field(5.0, gt=0)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, v):
        return v.strip().upper() if isinstance(v, str) else v  # POLYFLOW_LOG_LEVEL=info works too

    @field_validator("root_domain", "admin_subdomain")
    @classmethod
    def _lower(cls, v: str) -> str:
        return v.strip().strip(".").lower()

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> "Settings":
        if self.env == "production" and self.secret_key.get_secret_value() == DEV_SECRET_KEY:
            raise ValueError(
                "POLYFLOW_SECRET_KEY is left at its development default; set a long random value "
                "(python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        if self.mail_sender is None:
            # Printing mail in production would put one-time links into the logs.
            self.mail_sender = "none" if self.env == "production" else "console"
        if self.mail_sender == "smtp" and not self.smtp_host:
            raise ValueError("POLYFLOW_MAIL_SENDER=smtp needs POLYFLOW_SMTP_HOST")
        if len(self.secret_key.get_secret_value()) < 16:
            raise ValueError("POLYFLOW_SECRET_KEY must be at least 16 characters")
        return self

    @property
    def trusted_proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        # Parsed once per distinct value (not cached on the instance: a model_copy with another
        # trusted_proxies must not keep the old networks).
        return _networks(self.trusted_proxies)

    @property
    def metrics_allowed_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return _networks(self.metrics_allowed_ips)

    @property
    def admin_allowed_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return _networks(self.admin_allowed_ips)

    def cookie_name(self, name: str) -> str:
        """The name a cookie really has: in production ``__Host-<name>`` (the browser then insists on
        Secure, Path=/ and no Domain, so no sibling subdomain can plant or shadow it); elsewhere the plain
        name, so that http://localhost keeps working."""
        return f"__Host-{name}" if self.env == "production" else name

    @field_validator("trusted_proxies", "admin_allowed_ips", "metrics_allowed_ips")
    @classmethod
    def _valid_proxies(cls, v: str) -> str:
        for item in v.split(","):
            if item.strip():
                ipaddress.ip_network(item.strip(), strict=False)  # raises a clear ValueError
        return v
