"""manufacturing: machines, shifts, operators, BOMs, routes, production runs and orders, executions, lots, inspections

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-29 19:00:00
"""

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # filled in by its module's change


def downgrade() -> None:
    pass
