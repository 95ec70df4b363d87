"""super-admins: two-factor (TOTP, recovery codes), forced password change

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 16:30:00
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('admin_users', sa.Column('must_change_password', sa.Boolean(), server_default='false',
                                           nullable=False))
    op.add_column('admin_users', sa.Column('totp_secret_enc', sa.Text(), nullable=True))
    op.add_column('admin_users', sa.Column('totp_last_step', sa.BigInteger(), nullable=True))
    op.add_column('admin_users', sa.Column('mfa_enabled_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('admin_users', sa.Column('recovery_code_hashes', postgresql.ARRAY(sa.String(length=64)),
                                           server_default='{}', nullable=False))
    # Sessions opened before two-factor existed were opened with a password alone: they end here, and
    # every admin enrols at the next sign-in.
    op.execute("DELETE FROM admin_sessions")
    op.add_column('admin_sessions', sa.Column('stage', sa.String(length=20), server_default='mfa', nullable=False))
    op.create_check_constraint(op.f('ck_admin_sessions_stage'), 'admin_sessions',
                               "stage IN ('mfa', 'password', 'enrol', 'full')")


def downgrade() -> None:
    op.drop_constraint(op.f('ck_admin_sessions_stage'), 'admin_sessions', type_='check')
    op.drop_column('admin_sessions', 'stage')
    op.drop_column('admin_users', 'recovery_code_hashes')
    op.drop_column('admin_users', 'mfa_enabled_at')
    op.drop_column('admin_users', 'totp_last_step')
    op.drop_column('admin_users', 'totp_secret_enc')
    op.drop_column('admin_users', 'must_change_password')
