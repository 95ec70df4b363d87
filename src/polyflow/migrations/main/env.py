"""Alembic environment for the main tree.

The caller passes an open connection in ``config.attributes["connection"]`` (see
``polyflow.platform.migrate``); the URL never comes from alembic.ini. For offline SQL (``--sql``) a
URL may be given in ``config.attributes["url"]``.
"""

from alembic import context

from polyflow.kit.db import MainBase as Base
import polyflow.platform.models  # noqa: F401  (registers the tables)

target_metadata = Base.metadata
config = context.config


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        context.configure(url=config.attributes.get("url", "postgresql://"), target_metadata=target_metadata,
                          literal_binds=True, dialect_opts={"paramstyle": "named"})
        with context.begin_transaction():
            context.run_migrations()
        return
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


run()
