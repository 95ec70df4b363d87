"""Alembic environment of the main (platform) database; see polyflow.migrations.run_env."""

import polyflow.platform.models  # noqa: F401  (registers the tables)
from polyflow.kit.db import MainBase
from polyflow.migrations import run_env

run_env(MainBase.metadata)
