"""fleet migrations: run records per run and per tenant, the tenant's "being migrated" lease

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-28 09:00:00
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('migration_runs',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('target_revision', sa.String(length=64), nullable=False),
    sa.Column('main_revision', sa.String(length=64), nullable=True),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('options', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('summary', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('halt_reason', sa.Text(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('running', 'completed', 'failed', 'halted')", name=op.f('ck_migration_runs_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_migration_runs'))
    )
    op.create_table('migration_run_tenants',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('run_id', sa.BigInteger(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('subdomain', sa.String(length=63), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('from_revision', sa.String(length=64), nullable=True),
    sa.Column('to_revision', sa.String(length=64), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('seconds', sa.Float(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('worker', sa.String(length=200), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'running', 'migrated', 'skipped', 'failed', 'left_behind')", name=op.f('ck_migration_run_tenants_status')),
    sa.ForeignKeyConstraint(['run_id'], ['migration_runs.id'], name=op.f('fk_migration_run_tenants_run_id_migration_runs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_migration_run_tenants_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_migration_run_tenants')),
    sa.UniqueConstraint('run_id', 'tenant_id', name='uq_migration_run_tenants_run_tenant')
    )
    op.create_index('ix_migration_run_tenants_run_status', 'migration_run_tenants', ['run_id', 'status'], unique=False)
    op.create_index('ix_migration_run_tenants_tenant_latest', 'migration_run_tenants', ['tenant_id', 'id'], unique=False)
    op.add_column('tenants', sa.Column('migrating_until', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column('tenants', 'migrating_until')
    op.drop_index('ix_migration_run_tenants_tenant_latest', table_name='migration_run_tenants')
    op.drop_index('ix_migration_run_tenants_run_status', table_name='migration_run_tenants')
    op.drop_table('migration_run_tenants')
    op.drop_table('migration_runs')
