"""stock opname (counts, snapshot lines, blind entries)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29 19:00:00

Tables of erp/stockcount (models in erp/models/stockcount.py).
"""

from alembic import op
import sqlalchemy as sa

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('stock_counts',
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=12), server_default='open', nullable=False),
    sa.Column('location_id', sa.Uuid(), nullable=False),
    sa.Column('count_date', sa.Date(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('product_type', sa.String(length=20), nullable=True),
    sa.Column('watermark', sa.BigInteger(), nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('submitted_by', sa.Uuid(), nullable=True),
    sa.Column('approval_date', sa.Date(), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('approved_by', sa.Uuid(), nullable=True),
    sa.Column('zero_uncounted', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_by', sa.Uuid(), nullable=True),
    sa.Column('cancel_reason', sa.String(length=500), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('open', 'counted', 'approved', 'cancelled')", name=op.f('ck_stock_counts_status')),
    sa.CheckConstraint('watermark >= 0', name=op.f('ck_stock_counts_watermark')),
    sa.ForeignKeyConstraint(['location_id'], ['locations.id'], name=op.f('fk_stock_counts_location_id_locations')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_stock_counts_created_by_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['submitted_by'], ['users.id'], name=op.f('fk_stock_counts_submitted_by_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['approved_by'], ['users.id'], name=op.f('fk_stock_counts_approved_by_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['cancelled_by'], ['users.id'], name=op.f('fk_stock_counts_cancelled_by_users'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_counts')),
    sa.UniqueConstraint('number', name=op.f('uq_stock_counts_number'))
    )
    op.create_index('uq_stock_counts_active_location', 'stock_counts', ['location_id'], unique=True,
                    postgresql_where=sa.text("status IN ('open', 'counted')"))

    op.create_table('stock_count_lines',
    sa.Column('count_id', sa.Uuid(), nullable=False),
    sa.Column('variant_id', sa.Uuid(), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('in_snapshot', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('snapshot_qty', sa.Numeric(precision=18, scale=3), nullable=False),
    sa.Column('snapshot_unit_cost', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('counted_qty', sa.Numeric(precision=18, scale=3), nullable=True),
    sa.Column('expected_qty', sa.Numeric(precision=18, scale=3), nullable=True),
    sa.Column('adjustment_qty', sa.Numeric(precision=18, scale=3), nullable=True),
    sa.Column('adjustment_value', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('movement_id', sa.Uuid(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('snapshot_qty >= 0', name=op.f('ck_stock_count_lines_snapshot_qty')),
    sa.CheckConstraint('counted_qty IS NULL OR counted_qty >= 0', name=op.f('ck_stock_count_lines_counted_qty')),
    sa.ForeignKeyConstraint(['count_id'], ['stock_counts.id'], name=op.f('fk_stock_count_lines_count_id_stock_counts'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['variant_id'], ['product_variants.id'],
                            name=op.f('fk_stock_count_lines_variant_id_product_variants')),
    sa.ForeignKeyConstraint(['movement_id'], ['stock_movements.id'],
                            name=op.f('fk_stock_count_lines_movement_id_stock_movements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_count_lines')),
    sa.UniqueConstraint('count_id', 'variant_id', name='uq_stock_count_lines_count_id_variant_id')
    )

    op.create_table('stock_count_entries',
    sa.Column('count_id', sa.Uuid(), nullable=False),
    sa.Column('line_id', sa.Uuid(), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=18, scale=3), nullable=False),
    sa.Column('entered_qty', sa.Numeric(precision=18, scale=3), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('counted_by', sa.String(length=100), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('quantity >= 0', name=op.f('ck_stock_count_entries_quantity')),
    sa.ForeignKeyConstraint(['count_id'], ['stock_counts.id'],
                            name=op.f('fk_stock_count_entries_count_id_stock_counts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['line_id'], ['stock_count_lines.id'],
                            name=op.f('fk_stock_count_entries_line_id_stock_count_lines'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_stock_count_entries_user_id_users'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_count_entries')),
    )
    op.create_index(op.f('ix_stock_count_entries_count_id'), 'stock_count_entries', ['count_id'], unique=False)
    op.create_index('ix_stock_count_entries_line_id', 'stock_count_entries', ['line_id'], unique=False)


def downgrade() -> None:
    op.drop_table('stock_count_entries')
    op.drop_table('stock_count_lines')
    op.drop_index('uq_stock_counts_active_location', table_name='stock_counts')
    op.drop_table('stock_counts')
