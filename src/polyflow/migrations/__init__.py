"""Two Alembic trees: ``main`` (platform database) and ``tenant`` (every tenant database)."""

from __future__ import annotations

from sqlalchemy import MetaData


def run_env(metadata: MetaData) -> None:
    """The body of both trees' env.py.

    The caller passes an open connection in ``config.attributes["connection"]`` (see
    ``polyflow.platform.migrate``); the URL never comes from alembic.ini. Without one, Alembic runs
    offline (``--sql``) against ``config.attributes["url"]``.
    """
    from alembic import context

    config = context.config
    connection = config.attributes.get("connection")
    if connection is None:
        context.configure(url=config.attributes.get("url", "postgresql://"), target_metadata=metadata,
                          literal_binds=True, dialect_opts={"paramstyle": "named"})
    else:
        context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()
