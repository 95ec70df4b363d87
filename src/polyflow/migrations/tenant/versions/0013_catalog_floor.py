"""products for the floor (types, units, conversions, costing method)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29 19:00:00
"""

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # filled in by its module's change


def downgrade() -> None:
    pass
