"""Tenant connections through a transaction-mode connection pooler (PgBouncer) in front of a database server.

In transaction mode PgBouncer hands a server connection to a client for one transaction only, so nothing that
lives in a server *session* survives from one transaction to the next. Debian bookworm's PgBouncer is 1.18:
it does not track protocol-level prepared statements (1.21+ does), and it refuses startup parameters it does
not know. What our stack does by default, and what breaks:

- SQLAlchemy's asyncpg adapter prepares every statement under a name (asyncpg's ``__asyncpg_stmt_N__``, a
  per-connection counter) and keeps it in a per-connection cache (100 statements): the next transaction may
  run on another server connection, where the name does not exist (or names another client's statement).
  Measured through PgBouncer 1.18 with a pool of 2: 121 of 150 transactions failed with ``prepared statement
  "__asyncpg_stmt_5__" does not exist``;
- unique names alone (SQLAlchemy's documented ``prepared_statement_name_func`` with a uuid) still fail while
  the adapter caches statements; with the cache off they work, but each statement stays prepared on the
  server connection it was made on (asyncpg's later Close goes to whichever connection it gets): we counted
  ~44 left on each server connection after 150 transactions;
- ``statement_timeout`` / ``idle_in_transaction_session_timeout`` sent as startup parameters: PgBouncer 1.18
  refuses the connection ("unsupported startup parameter").

What works, and what is used for a server whose ``pooler_host`` is set: no statement cache in either layer
and *unnamed* statements. asyncpg then re-parses the unnamed statement in the same protocol exchange as the
execute (it marks it unprepared when its cache is off, for exactly this case), so a statement never outlives
its transaction and nothing is left on the server. The session limits come from the tenant role instead
(``ALTER ROLE ... SET``, done at onboarding, restore, move and by the fleet migration: see
``engines.role_limits_sql``); only ``application_name`` is sent, which PgBouncer passes on.
The price is one more Parse per statement (asyncpg's own cache normally saves it).
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

# asyncpg.connect(): no statement cache, so its own statements (type introspection, codecs) are unnamed too.
POOLED_CONNECT_ARGS: dict[str, Any] = {"statement_cache_size": 0}


def _unnamed() -> str:
    return ""  # asyncpg: "" is the unnamed statement, replaced by the next Parse on that server connection


# SQLAlchemy's asyncpg adapter (DBAPI arguments, not dialect ones): no prepared-statement cache, no names.
POOLED_DBAPI_ARGS: dict[str, Any] = {"prepared_statement_cache_size": 0, "prepared_statement_name_func": _unnamed}

# Startup parameters PgBouncer passes on (the rest it refuses unless told to ignore them).
POOLER_STARTUP_PARAMETERS = frozenset({"application_name", "client_encoding", "DateStyle", "TimeZone",
                                       "standard_conforming_strings"})

_dbapi = None


def connect_kwargs(pooled: bool, server_settings: dict[str, str]) -> dict[str, Any]:
    """Extra ``asyncpg.connect`` arguments for a tenant connection: the server settings as given, or, through
    a pooler, only the ones it passes on and no statement cache."""
    if not pooled:
        return {"server_settings": server_settings}
    kept = {k: v for k, v in server_settings.items() if k in POOLER_STARTUP_PARAMETERS}
    return {"server_settings": kept, **POOLED_CONNECT_ARGS}


def engine_kwargs(async_creator: Callable[[], Awaitable[Any]], pooled: bool) -> dict[str, Any]:
    """The ``create_async_engine`` argument that opens connections with ``async_creator``.

    ``async_creator=`` cannot carry the adapter's DBAPI arguments (SQLAlchemy calls the adapter's connect
    with the creator alone), so through a pooler a plain ``creator`` calls the adapter's connect itself
    with them, as SQLAlchemy's own ``async_creator`` wrapper does."""
    if not pooled:
        return {"async_creator": async_creator}
    global _dbapi
    if _dbapi is None:
        from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg

        _dbapi = PGDialect_asyncpg.import_dbapi()

    def creator():
        return _dbapi.connect(async_creator_fn=async_creator, **POOLED_DBAPI_ARGS)

    return {"creator": creator}
