"""lifecycle: plans, modules, backups, invoices, events, onboarding

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 13:01:57.746019
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('plans',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('monthly_price', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('max_users', sa.Integer(), nullable=True),
    sa.Column('modules', postgresql.ARRAY(sa.String(length=40)), nullable=False),
    sa.Column('trial_days', sa.Integer(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_plans'))
    )
    plans = sa.table(
        "plans", sa.column("code", sa.String), sa.column("name", sa.String), sa.column("monthly_price", sa.Numeric),
        sa.column("max_users", sa.Integer), sa.column("modules", postgresql.ARRAY(sa.String)),
        sa.column("trial_days", sa.Integer), sa.column("is_active", sa.Boolean),
    )
    every_module = ["catalog", "inventory", "purchasing", "sales", "production", "accounting"]
    op.bulk_insert(plans, [
        {"code": "trial", "name": "Trial", "monthly_price": 0, "max_users": 3, "modules": every_module,
         "trial_days": 14, "is_active": True},
        {"code": "basic", "name": "Basic", "monthly_price": 1500000, "max_users": 5,
         "modules": ["catalog", "inventory", "purchasing", "sales", "accounting"], "trial_days": 0, "is_active": True},
        {"code": "pro", "name": "Pro", "monthly_price": 4500000, "max_users": 25, "modules": every_module,
         "trial_days": 0, "is_active": True},
    ])
    op.create_table('backups',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('schema_revision', sa.String(length=64), nullable=True),
    sa.Column('server_name', sa.String(length=63), nullable=False),
    sa.Column('db_name', sa.String(length=63), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("kind IN ('manual', 'archive', 'pre_delete', 'move', 'pre_restore')", name=op.f('ck_backups_kind')),
    sa.CheckConstraint("status IN ('running', 'completed', 'failed')", name=op.f('ck_backups_status')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_backups_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_backups'))
    )
    op.create_index('ix_backups_tenant_started', 'backups', ['tenant_id', 'started_at'], unique=False)
    op.create_table('invoices',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('plan', sa.String(length=40), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('lines', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('payment_reference', sa.String(length=200), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('issued', 'paid', 'void')", name=op.f('ck_invoices_status')),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_invoices_amount_not_negative')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_invoices_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoices')),
    sa.UniqueConstraint('number', name=op.f('uq_invoices_number')),
    sa.UniqueConstraint('tenant_id', 'period_start', name='uq_invoices_tenant_period')
    )
    op.create_index(op.f('ix_invoices_tenant_id'), 'invoices', ['tenant_id'], unique=False)
    op.create_table('platform_events',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=True),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('detail', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_platform_events_tenant_id_tenants'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_platform_events'))
    )
    op.create_index('ix_platform_events_tenant_created', 'platform_events', ['tenant_id', 'created_at'], unique=False)
    op.create_table('tenant_modules',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('module', sa.String(length=40), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_tenant_modules_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'module', name='pk_tenant_modules')
    )
    op.add_column('tenants', sa.Column('admin_email', sa.String(length=254), nullable=True))
    op.add_column('tenants', sa.Column('trial_ends_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('tenants', sa.Column('onboarding_step', sa.String(length=20), nullable=True))
    op.add_column('tenants', sa.Column('onboarding_error', sa.Text(), nullable=True))
    op.add_column('tenants', sa.Column('onboarding_attempts', sa.Integer(), server_default='0', nullable=False))
    op.add_column('tenants', sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('tenants', sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True))
    # Tenants created before onboarding was tracked are complete.
    op.execute("UPDATE tenants SET onboarding_step = 'active' WHERE status <> 'provisioning'")
    op.drop_constraint(op.f('uq_tenants_subdomain'), 'tenants', type_='unique')
    op.create_index('uq_tenants_subdomain_live', 'tenants', ['subdomain'], unique=True, postgresql_where=sa.text("status <> 'deleted'"))
    op.create_foreign_key(op.f('fk_tenants_plan_plans'), 'tenants', 'plans', ['plan'], ['code'], ondelete='RESTRICT')


def downgrade() -> None:
    op.drop_constraint(op.f('fk_tenants_plan_plans'), 'tenants', type_='foreignkey')
    op.drop_index('uq_tenants_subdomain_live', table_name='tenants', postgresql_where=sa.text("status <> 'deleted'"))
    op.create_unique_constraint(op.f('uq_tenants_subdomain'), 'tenants', ['subdomain'], postgresql_nulls_not_distinct=False)
    op.drop_column('tenants', 'deleted_at')
    op.drop_column('tenants', 'archived_at')
    op.drop_column('tenants', 'onboarding_attempts')
    op.drop_column('tenants', 'onboarding_error')
    op.drop_column('tenants', 'onboarding_step')
    op.drop_column('tenants', 'trial_ends_at')
    op.drop_column('tenants', 'admin_email')
    op.drop_table('tenant_modules')
    op.drop_index('ix_platform_events_tenant_created', table_name='platform_events')
    op.drop_table('platform_events')
    op.drop_index(op.f('ix_invoices_tenant_id'), table_name='invoices')
    op.drop_table('invoices')
    op.drop_index('ix_backups_tenant_started', table_name='backups')
    op.drop_table('backups')
    op.drop_table('plans')
