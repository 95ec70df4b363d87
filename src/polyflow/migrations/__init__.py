"""Two Alembic trees: ``main`` (platform database) and ``tenant`` (every tenant database)."""
