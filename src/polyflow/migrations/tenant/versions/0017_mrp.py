"""planning (MRP-lite): runs and proposals

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-29 19:00:00
"""

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # filled in by its module's change


def downgrade() -> None:
    pass
