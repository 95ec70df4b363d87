"""super-admins: two-factor (TOTP, recovery codes), forced password change

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 16:30:00
"""

from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
