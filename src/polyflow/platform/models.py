"""Tables of the main (platform) database: the tenant registry and routing map, super-admins."""

from __future__ import annotations

import uuid
from datetime import datetime

from datetime import date
from decimal import Decimal

from sqlalchemy import (
    BigInteger, Boolean, CheckConstraint, Date, DateTime, Float, ForeignKey, Identity, Index, Integer, Numeric,
    PrimaryKeyConstraint, String, Text, UniqueConstraint, func, text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from polyflow.kit.db import MainBase, Timestamps, UUIDPk

TENANT_STATUSES = ("provisioning", "active", "suspended", "archived", "deleted", "failed")
# Onboarding steps in order; tenants.onboarding_step is the last one completed.
ONBOARDING_STEPS = ("reserved", "role", "database", "migrated", "seeded", "verified", "active")
BACKUP_KINDS = ("manual", "archive", "pre_delete", "move", "pre_restore")
INVOICE_STATUSES = ("issued", "paid", "void")
# Fleet migrations (platform/fleet): a run, and one row per tenant it had to look at.
MIGRATION_RUN_STATUSES = ("running", "completed", "failed", "halted", "aborted")
MIGRATION_TENANT_STATUSES = ("pending", "running", "migrated", "skipped", "failed", "left_behind")


class DatabaseServer(UUIDPk, Timestamps, MainBase):
    """A PostgreSQL cluster that holds tenant databases; the admin login is encrypted at rest."""

    __tablename__ = "database_servers"

    name: Mapped[str] = mapped_column(String(63), unique=True)
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer, default=5432)
    admin_user: Mapped[str] = mapped_column(String(63))
    admin_password_enc: Mapped[str | None] = mapped_column(Text)
    admin_database: Mapped[str] = mapped_column(String(63), default="postgres")
    max_tenants: Mapped[int | None] = mapped_column(Integer)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # A PgBouncer (transaction mode) in front of this server: requests connect there with pooler-safe
    # settings (no named statements kept); admin work (templates, migrations, pg_dump) stays on host:port.
    pooler_host: Mapped[str | None] = mapped_column(String(255))
    pooler_port: Mapped[int | None] = mapped_column(Integer)


class Tenant(UUIDPk, Timestamps, MainBase):
    """One customer company (a PT) and where its database lives."""

    __tablename__ = "tenants"
    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in TENANT_STATUSES) + ")", name="status"
        ),
        CheckConstraint("subdomain = lower(subdomain)", name="subdomain_lower"),
        UniqueConstraint("server_id", "db_name", name="uq_tenants_server_db_name"),
        Index("ix_tenants_status", "status"),
        # A deleted tenant's row stays as a tombstone; its subdomain may be taken again.
        Index("uq_tenants_subdomain_live", "subdomain", unique=True, postgresql_where=text("status <> 'deleted'")),
    )

    name: Mapped[str] = mapped_column(String(200))
    subdomain: Mapped[str] = mapped_column(String(63))
    status: Mapped[str] = mapped_column(String(20), default="provisioning")
    status_reason: Mapped[str | None] = mapped_column(Text)
    plan: Mapped[str] = mapped_column(ForeignKey("plans.code", ondelete="RESTRICT"), default="trial")
    admin_email: Mapped[str | None] = mapped_column(String(254))
    trial_ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    onboarding_step: Mapped[str | None] = mapped_column(String(20))
    onboarding_error: Mapped[str | None] = mapped_column(Text)
    onboarding_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    server_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("database_servers.id", ondelete="RESTRICT"))
    db_name: Mapped[str] = mapped_column(String(63))
    db_user: Mapped[str] = mapped_column(String(63))
    db_password_enc: Mapped[str] = mapped_column(Text)
    schema_revision: Mapped[str | None] = mapped_column(String(64))
    activated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set while a fleet migration holds this tenant's database (requests get 503 + Retry-After). It is
    # a lease renewed by the migrator, so a migrator that dies cannot leave the tenant refused for long.
    migrating_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    server: Mapped[DatabaseServer] = relationship(lazy="joined")
    domains: Mapped[list["TenantDomain"]] = relationship(back_populates="tenant", cascade="all, delete-orphan")


class TenantDomain(UUIDPk, Timestamps, MainBase):
    """A custom domain routed to a tenant (e.g. erp.customer.co.id)."""

    __tablename__ = "tenant_domains"
    __table_args__ = (
        CheckConstraint("domain = lower(domain)", name="domain_lower"),
        Index(
            "uq_tenant_domains_primary", "tenant_id", unique=True, postgresql_where=text("is_primary")
        ),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    domain: Mapped[str] = mapped_column(String(255), unique=True)
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)

    tenant: Mapped[Tenant] = relationship(back_populates="domains")


class Plan(MainBase):
    """A subscription plan: price and limits. Modules not listed are denied."""

    __tablename__ = "plans"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    monthly_price: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal("0"))
    max_users: Mapped[int | None] = mapped_column(Integer)
    modules: Mapped[list[str]] = mapped_column(ARRAY(String(40)), default=list)
    trial_days: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class TenantModule(MainBase):
    """A module granted to a tenant (on top of, or beyond, its plan), optionally until a date."""

    __tablename__ = "tenant_modules"
    __table_args__ = (PrimaryKeyConstraint("tenant_id", "module", name="pk_tenant_modules"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    module: Mapped[str] = mapped_column(String(40))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Backup(UUIDPk, MainBase):
    """A pg_dump (custom format) of one tenant database, with its size and checksum."""

    __tablename__ = "backups"
    __table_args__ = (
        CheckConstraint("kind IN (" + ", ".join(f"'{k}'" for k in BACKUP_KINDS) + ")", name="kind"),
        CheckConstraint("status IN ('running', 'completed', 'failed')", name="status"),
        Index("ix_backups_tenant_started", "tenant_id", "started_at"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20), default="manual")
    status: Mapped[str] = mapped_column(String(20), default="running")
    path: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    schema_revision: Mapped[str | None] = mapped_column(String(64))
    server_name: Mapped[str] = mapped_column(String(63))
    db_name: Mapped[str] = mapped_column(String(63))
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Invoice(UUIDPk, Timestamps, MainBase):
    """A monthly invoice for one tenant, computed from its plan and usage."""

    __tablename__ = "invoices"
    __table_args__ = (
        CheckConstraint("status IN (" + ", ".join(f"'{k}'" for k in INVOICE_STATUSES) + ")", name="status"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        UniqueConstraint("tenant_id", "period_start", name="uq_invoices_tenant_period"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="RESTRICT"), index=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    plan: Mapped[str] = mapped_column(String(40))
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    lines: Mapped[list] = mapped_column(JSONB, default=list)
    status: Mapped[str] = mapped_column(String(20), default="issued")
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    due_date: Mapped[date] = mapped_column(Date)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    payment_reference: Mapped[str | None] = mapped_column(String(200))


class PlatformEvent(MainBase):
    """Platform audit log: who did what to which tenant (operators, jobs, the CLI)."""

    __tablename__ = "platform_events"
    __table_args__ = (Index("ix_platform_events_tenant_created", "tenant_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tenants.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(60))
    detail: Mapped[dict] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class MigrationRun(MainBase):
    """One `polyflow migrate` of the tenant fleet: its target, options, outcome and counts."""

    __tablename__ = "migration_runs"
    __table_args__ = (
        CheckConstraint("status IN (" + ", ".join(f"'{k}'" for k in MIGRATION_RUN_STATUSES) + ")", name="status"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), default="running")
    target_revision: Mapped[str] = mapped_column(String(64))
    main_revision: Mapped[str | None] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(200))
    options: Mapped[dict] = mapped_column(JSONB, default=dict)
    summary: Mapped[dict] = mapped_column(JSONB, default=dict)
    halt_reason: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Where the run's process lives and when it last said so: a run whose process is gone is `aborted`.
    runner_host: Mapped[str | None] = mapped_column(String(255))
    runner_pid: Mapped[int | None] = mapped_column(Integer)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class MigrationRunTenant(MainBase):
    """What one run did to one tenant: from/to revision, when, how long, and the error if it failed."""

    __tablename__ = "migration_run_tenants"
    __table_args__ = (
        CheckConstraint("status IN (" + ", ".join(f"'{k}'" for k in MIGRATION_TENANT_STATUSES) + ")", name="status"),
        UniqueConstraint("run_id", "tenant_id", name="uq_migration_run_tenants_run_tenant"),
        Index("ix_migration_run_tenants_run_status", "run_id", "status"),
        # The latest attempt per tenant (`migrate status`, `--retry-failed`).
        Index("ix_migration_run_tenants_tenant_latest", "tenant_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("migration_runs.id", ondelete="CASCADE"))
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    subdomain: Mapped[str] = mapped_column(String(63))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    from_revision: Mapped[str | None] = mapped_column(String(64))
    to_revision: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    seconds: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str | None] = mapped_column(String(200))


class AdminUser(UUIDPk, MainBase):
    """A Polyflow super-admin: signs in on the admin host only; has nothing in any tenant database."""

    __tablename__ = "admin_users"
    # On the expression, not the column: "Ops@x.id" and "ops@x.id" are one account. (func.lower("email")
    # would index the constant 'email'.)
    __table_args__ = (Index("uq_admin_users_email_lower", text("lower(email)"), unique=True),)

    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # A one-time password (from `polyflow admins create/reset-password`) opens nothing but its change.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # Two-factor sign-in (kit/totp): the TOTP secret, Fernet-encrypted with SECRET_KEY; it counts only
    # once confirmed with a code (mfa_enabled_at). totp_last_step: the newest accepted time step (a code
    # is never accepted twice). Recovery codes: SHA-256 of each unused one.
    totp_secret_enc: Mapped[str | None] = mapped_column(Text)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    mfa_enabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    recovery_code_hashes: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list, server_default="{}")


ADMIN_SESSION_STAGES = ("mfa", "password", "enrol", "full")


class AdminSession(UUIDPk, MainBase):
    """A super-admin's browser sign-in: revocable (delete the row), expiring (idle and absolute limits).

    Only the SHA-256 of the cookie's token is stored."""

    __tablename__ = "admin_sessions"
    __table_args__ = (
        Index("ix_admin_sessions_admin_user", "admin_user_id"),
        CheckConstraint("stage IN ('mfa', 'password', 'enrol', 'full')", name="stage"),
    )

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    admin_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("admin_users.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    # What the session opens: "full" only after every step of the sign-in; before that only the next step
    # ("mfa": the code; "password": choose a password; "enrol": set up two-factor).
    stage: Mapped[str] = mapped_column(String(20), server_default="mfa")
