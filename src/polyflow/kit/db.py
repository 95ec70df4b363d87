"""Declarative bases for the two kinds of database, and connection-URL helpers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qs, quote, unquote, urlsplit

from sqlalchemy import DateTime, MetaData, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class MainBase(DeclarativeBase):
    """Tables of the main (platform) database."""

    metadata = MetaData(naming_convention=NAMING)


class TenantBase(DeclarativeBase):
    """Tables of one tenant's database."""

    metadata = MetaData(naming_convention=NAMING)


class UUIDPk:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


@dataclass(frozen=True, slots=True)
class PgDsn:
    """Parts of a PostgreSQL connection, parsed from a standard ``postgresql://`` URL."""

    host: str
    port: int
    user: str
    password: str | None
    database: str

    @classmethod
    def parse(cls, url: str) -> "PgDsn":
        parts = urlsplit(url)
        if parts.scheme.split("+")[0] not in ("postgresql", "postgres"):
            raise ValueError(f"not a postgresql:// URL: {parts.scheme}://...")
        database = unquote(parts.path.lstrip("/")) or "postgres"
        query = parse_qs(parts.query)  # ?host=/socket/dir for Unix-socket servers
        return cls(
            host=query["host"][0] if "host" in query else (parts.hostname or "127.0.0.1"),
            port=int(query["port"][0]) if "port" in query else (parts.port or 5432),
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password) if parts.password is not None else None,
            database=database,
        )

    def with_database(self, database: str) -> "PgDsn":
        return PgDsn(self.host, self.port, self.user, self.password, database)

    def url(self, driver: str = "postgresql+asyncpg") -> str:
        auth = quote(self.user, safe="")
        if self.password is not None:
            auth += ":" + quote(self.password, safe="")
        if self.host.startswith("/"):  # a Unix-socket directory
            return (f"{driver}://{auth}@/{quote(self.database, safe='')}"
                    f"?host={quote(self.host, safe='/')}&port={self.port}")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{driver}://{auth}@{host}:{self.port}/{quote(self.database, safe='')}"

    def asyncpg_kwargs(self) -> dict:
        return {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "database": self.database,
        }

    def redacted(self) -> str:
        """The URL without the password (for messages and logs)."""
        return PgDsn(self.host, self.port, self.user, None, self.database).url("postgresql")


def quote_ident(name: str) -> str:
    """Quote a PostgreSQL identifier (DDL cannot take bind parameters)."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def escape_like(text: str) -> str:
    """Escape LIKE/ILIKE wildcards so user input matches literally (default escape char is backslash)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
