"""workspace language: tenant_settings.language (the pages' language before sign-in and for new users)

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-29 22:10:00
"""

from alembic import op
import sqlalchemy as sa

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('tenant_settings', sa.Column('language', sa.String(length=5), server_default='id', nullable=False))
    op.create_check_constraint(op.f('ck_tenant_settings_language'), 'tenant_settings', "language IN ('id', 'en')")


def downgrade() -> None:
    op.drop_constraint(op.f('ck_tenant_settings_language'), 'tenant_settings', type_='check')
    op.drop_column('tenant_settings', 'language')
