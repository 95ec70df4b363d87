"""planning (MRP-lite): runs and proposals

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-29 19:00:00
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('mrp_runs',
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('run_date', sa.Date(), nullable=False),
    sa.Column('horizon_days', sa.Integer(), nullable=False),
    sa.Column('horizon_end', sa.Date(), nullable=False),
    sa.Column('include_sales', sa.Boolean(), nullable=False),
    sa.Column('include_reorder', sa.Boolean(), nullable=False),
    sa.Column('location_id', sa.Uuid(), nullable=True),
    sa.Column('levels', sa.Integer(), server_default='0', nullable=False),
    sa.Column('production_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('purchase_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('superseded_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('duration_ms', sa.Integer(), server_default='0', nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('horizon_days >= 0', name=op.f('ck_mrp_runs_horizon_days')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_mrp_runs_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['location_id'], ['locations.id'], name=op.f('fk_mrp_runs_location_id_locations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mrp_runs')),
    sa.UniqueConstraint('number', name=op.f('uq_mrp_runs_number'))
    )
    op.create_index('ix_mrp_runs_created_at', 'mrp_runs', ['created_at'], unique=False)
    op.create_table('mrp_proposals',
    sa.Column('run_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('status', sa.String(length=12), server_default='proposed', nullable=False),
    sa.Column('variant_id', sa.Uuid(), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('bom_id', sa.Uuid(), nullable=True),
    sa.Column('quantity', sa.Numeric(precision=18, scale=3), nullable=False),
    sa.Column('needed_by', sa.Date(), nullable=False),
    sa.Column('sales_demand', sa.Numeric(precision=18, scale=3), nullable=False),
    sa.Column('order_demand', sa.Numeric(precision=18, scale=3), nullable=False),
    sa.Column('dependent_demand', sa.Numeric(precision=18, scale=3), nullable=False),
    sa.Column('available', sa.Numeric(precision=18, scale=3), nullable=False),
    sa.Column('open_supply', sa.Numeric(precision=18, scale=3), nullable=False),
    sa.Column('reorder_point', sa.Numeric(precision=18, scale=3), nullable=False),
    sa.Column('reorder_qty', sa.Numeric(precision=18, scale=3), nullable=False),
    sa.Column('by_reorder', sa.Boolean(), nullable=False),
    sa.Column('sales_order_line_ids', postgresql.ARRAY(sa.Uuid()), server_default=sa.text("'{}'"), nullable=False),
    sa.Column('parent_proposal_ids', postgresql.ARRAY(sa.Uuid()), server_default=sa.text("'{}'"), nullable=False),
    sa.Column('production_order_id', sa.Uuid(), nullable=True),
    sa.Column('purchase_request_id', sa.Uuid(), nullable=True),
    sa.Column('decided_by', sa.Uuid(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("(status = 'approved') = (production_order_id IS NOT NULL OR purchase_request_id IS NOT NULL)", name=op.f('ck_mrp_proposals_approved_has_document')),
    sa.CheckConstraint("kind IN ('production', 'purchase')", name=op.f('ck_mrp_proposals_kind')),
    sa.CheckConstraint("status IN ('proposed', 'approved', 'rejected', 'superseded')", name=op.f('ck_mrp_proposals_status')),
    sa.CheckConstraint('level >= 0', name=op.f('ck_mrp_proposals_level')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_mrp_proposals_quantity')),
    sa.ForeignKeyConstraint(['bom_id'], ['boms.id'], name=op.f('fk_mrp_proposals_bom_id_boms')),
    sa.ForeignKeyConstraint(['decided_by'], ['users.id'], name=op.f('fk_mrp_proposals_decided_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['production_order_id'], ['production_orders.id'], name=op.f('fk_mrp_proposals_production_order_id_production_orders')),
    sa.ForeignKeyConstraint(['purchase_request_id'], ['purchase_requests.id'], name=op.f('fk_mrp_proposals_purchase_request_id_purchase_requests')),
    sa.ForeignKeyConstraint(['run_id'], ['mrp_runs.id'], name=op.f('fk_mrp_proposals_run_id_mrp_runs')),
    sa.ForeignKeyConstraint(['variant_id'], ['product_variants.id'], name=op.f('fk_mrp_proposals_variant_id_product_variants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mrp_proposals')),
    sa.UniqueConstraint('run_id', 'variant_id', name='uq_mrp_proposals_run_id_variant_id')
    )
    op.create_index('ix_mrp_proposals_run_id_kind_status', 'mrp_proposals', ['run_id', 'kind', 'status'], unique=False)
    op.create_index('ix_mrp_proposals_proposed', 'mrp_proposals', ['run_id'], unique=False, postgresql_where=sa.text("status = 'proposed'"))


def downgrade() -> None:
    op.drop_table('mrp_proposals')
    op.drop_table('mrp_runs')
