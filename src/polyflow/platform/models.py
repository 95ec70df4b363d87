"""Tables of the main (platform) database: the tenant registry and routing map."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, DateTime, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from polyflow.kit.db import MainBase, Timestamps, UUIDPk

TENANT_STATUSES = ("provisioning", "active", "suspended", "archived", "deleted", "failed")


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
    )

    name: Mapped[str] = mapped_column(String(200))
    subdomain: Mapped[str] = mapped_column(String(63), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="provisioning")
    status_reason: Mapped[str | None] = mapped_column(Text)
    plan: Mapped[str] = mapped_column(String(40), default="trial")
    server_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("database_servers.id", ondelete="RESTRICT"))
    db_name: Mapped[str] = mapped_column(String(63))
    db_user: Mapped[str] = mapped_column(String(63))
    db_password_enc: Mapped[str] = mapped_column(Text)
    schema_revision: Mapped[str | None] = mapped_column(String(64))
    activated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

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
