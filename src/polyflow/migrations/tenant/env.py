"""Alembic environment of every tenant database; see polyflow.migrations.run_env."""

import polyflow.erp.models  # noqa: F401  (registers the tables)
from polyflow.kit.db import TenantBase
from polyflow.migrations import run_env

run_env(TenantBase.metadata)
