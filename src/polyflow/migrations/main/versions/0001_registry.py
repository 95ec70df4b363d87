"""registry: tenants, database servers, custom domains

Revision ID: 0001
Revises: 
Create Date: 2026-11-27 12:40:03.274524
"""

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('database_servers',
    sa.Column('name', sa.String(length=63), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('port', sa.Integer(), nullable=False),
    sa.Column('admin_user', sa.String(length=63), nullable=False),
    sa.Column('admin_password_enc', sa.Text(), nullable=True),
    sa.Column('admin_database', sa.String(length=63), nullable=False),
    sa.Column('max_tenants', sa.Integer(), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_database_servers')),
    sa.UniqueConstraint('name', name=op.f('uq_database_servers_name'))
    )
    op.create_table('tenants',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('subdomain', sa.String(length=63), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('status_reason', sa.Text(), nullable=True),
    sa.Column('plan', sa.String(length=40), nullable=False),
    sa.Column('server_id', sa.Uuid(), nullable=False),
    sa.Column('db_name', sa.String(length=63), nullable=False),
    sa.Column('db_user', sa.String(length=63), nullable=False),
    sa.Column('db_password_enc', sa.Text(), nullable=False),
    sa.Column('schema_revision', sa.String(length=64), nullable=True),
    sa.Column('activated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('provisioning', 'active', 'suspended', 'archived', 'deleted', 'failed')", name=op.f('ck_tenants_status')),
    sa.CheckConstraint('subdomain = lower(subdomain)', name=op.f('ck_tenants_subdomain_lower')),
    sa.ForeignKeyConstraint(['server_id'], ['database_servers.id'], name=op.f('fk_tenants_server_id_database_servers'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenants')),
    sa.UniqueConstraint('server_id', 'db_name', name='uq_tenants_server_db_name'),
    sa.UniqueConstraint('subdomain', name=op.f('uq_tenants_subdomain'))
    )
    op.create_index('ix_tenants_status', 'tenants', ['status'], unique=False)
    op.create_table('tenant_domains',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('domain', sa.String(length=255), nullable=False),
    sa.Column('is_primary', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('domain = lower(domain)', name=op.f('ck_tenant_domains_domain_lower')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_tenant_domains_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenant_domains')),
    sa.UniqueConstraint('domain', name=op.f('uq_tenant_domains_domain'))
    )
    op.create_index(op.f('ix_tenant_domains_tenant_id'), 'tenant_domains', ['tenant_id'], unique=False)
    op.create_index('uq_tenant_domains_primary', 'tenant_domains', ['tenant_id'], unique=True, postgresql_where=sa.text('is_primary'))


def downgrade() -> None:
    op.drop_index('uq_tenant_domains_primary', table_name='tenant_domains', postgresql_where=sa.text('is_primary'))
    op.drop_index(op.f('ix_tenant_domains_tenant_id'), table_name='tenant_domains')
    op.drop_table('tenant_domains')
    op.drop_index('ix_tenants_status', table_name='tenants')
    op.drop_table('tenants')
    op.drop_table('database_servers')
