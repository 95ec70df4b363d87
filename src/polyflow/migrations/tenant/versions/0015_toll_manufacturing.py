"""toll manufacturing (maklon): customer-owned material by quantity

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29 19:00:00

Tables toll_orders, toll_order_lines and toll_material_moves (erp/toll): the customer's material by
quantity only (no stock, no value). A toll order's fee is billed by a sales invoice without a sales order,
so sales_invoices.order_id and sales_invoice_lines.order_line_id become nullable (service invoices).
"""

from alembic import op
import sqlalchemy as sa

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column('sales_invoices', 'order_id', existing_type=sa.Uuid(), nullable=True)
    op.alter_column('sales_invoice_lines', 'order_line_id', existing_type=sa.Uuid(), nullable=True)

    op.create_table('toll_orders',
    sa.Column('number', sa.String(length=32), nullable=True),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('order_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=12), server_default='draft', nullable=False),
    sa.Column('service_description', sa.String(length=200), nullable=False),
    sa.Column('fee_basis', sa.String(length=8), nullable=False),
    sa.Column('fee_price', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('tax_code', sa.String(length=20), server_default='PPN', nullable=False),
    sa.Column('pph23_code', sa.String(length=20), server_default='PPH23', nullable=False),
    sa.Column('customer_reference', sa.String(length=100), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('sales_invoice_id', sa.Uuid(), nullable=True),
    sa.Column('pph23_expected', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('confirmed_by', sa.Uuid(), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('draft', 'confirmed', 'in_progress', 'completed', 'invoiced', 'cancelled')",
                       name=op.f('ck_toll_orders_status')),
    sa.CheckConstraint("fee_basis IN ('KG', 'PCS')", name=op.f('ck_toll_orders_fee_basis')),
    sa.CheckConstraint('fee_price >= 0', name=op.f('ck_toll_orders_fee_price')),
    sa.ForeignKeyConstraint(['confirmed_by'], ['users.id'], name=op.f('fk_toll_orders_confirmed_by_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_toll_orders_created_by_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['partners.id'], name=op.f('fk_toll_orders_customer_id_partners')),
    sa.ForeignKeyConstraint(['sales_invoice_id'], ['sales_invoices.id'],
                            name=op.f('fk_toll_orders_sales_invoice_id_sales_invoices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_toll_orders')),
    sa.UniqueConstraint('number', name=op.f('uq_toll_orders_number')),
    sa.UniqueConstraint('sales_invoice_id', name=op.f('uq_toll_orders_sales_invoice_id'))
    )
    op.create_index('ix_toll_orders_customer_id_status', 'toll_orders', ['customer_id', 'status'], unique=False)

    op.create_table('toll_order_lines',
    sa.Column('order_id', sa.Uuid(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('material_variant_id', sa.Uuid(), nullable=True),
    sa.Column('material_qty', sa.Numeric(precision=18, scale=3), nullable=True),
    sa.Column('finished_variant_id', sa.Uuid(), nullable=True),
    sa.Column('finished_qty', sa.Numeric(precision=18, scale=3), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('material_variant_id IS NOT NULL OR finished_variant_id IS NOT NULL',
                       name=op.f('ck_toll_order_lines_something')),
    sa.CheckConstraint('(material_variant_id IS NULL) = (material_qty IS NULL) AND '
                       '(finished_variant_id IS NULL) = (finished_qty IS NULL)',
                       name=op.f('ck_toll_order_lines_qty_with_variant')),
    sa.CheckConstraint('material_qty > 0 AND finished_qty > 0', name=op.f('ck_toll_order_lines_quantities')),
    sa.ForeignKeyConstraint(['finished_variant_id'], ['product_variants.id'],
                            name=op.f('fk_toll_order_lines_finished_variant_id_product_variants')),
    sa.ForeignKeyConstraint(['material_variant_id'], ['product_variants.id'],
                            name=op.f('fk_toll_order_lines_material_variant_id_product_variants')),
    sa.ForeignKeyConstraint(['order_id'], ['toll_orders.id'], name=op.f('fk_toll_order_lines_order_id_toll_orders'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_toll_order_lines'))
    )
    op.create_index(op.f('ix_toll_order_lines_order_id'), 'toll_order_lines', ['order_id'], unique=False)

    op.create_table('toll_material_moves',
    sa.Column('order_id', sa.Uuid(), nullable=False),
    sa.Column('variant_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=18, scale=3), nullable=False),
    sa.Column('move_date', sa.Date(), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("kind IN ('receive', 'consume', 'produce', 'return_goods', 'return_leftover', 'scrap')",
                       name=op.f('ck_toll_material_moves_kind')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_toll_material_moves_quantity')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_toll_material_moves_created_by_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['order_id'], ['toll_orders.id'],
                            name=op.f('fk_toll_material_moves_order_id_toll_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['variant_id'], ['product_variants.id'],
                            name=op.f('fk_toll_material_moves_variant_id_product_variants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_toll_material_moves'))
    )
    op.create_index('ix_toll_material_moves_order_id_variant_id', 'toll_material_moves', ['order_id', 'variant_id'],
                    unique=False)
    op.create_index('ix_toll_material_moves_move_date', 'toll_material_moves', ['move_date'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_toll_material_moves_move_date', table_name='toll_material_moves')
    op.drop_index('ix_toll_material_moves_order_id_variant_id', table_name='toll_material_moves')
    op.drop_table('toll_material_moves')
    op.drop_index(op.f('ix_toll_order_lines_order_id'), table_name='toll_order_lines')
    op.drop_table('toll_order_lines')
    op.drop_index('ix_toll_orders_customer_id_status', table_name='toll_orders')
    op.drop_table('toll_orders')
    # Service invoices (no order) cannot go back under a NOT NULL: downgrading with any of them refuses.
    op.alter_column('sales_invoice_lines', 'order_line_id', existing_type=sa.Uuid(), nullable=False)
    op.alter_column('sales_invoices', 'order_id', existing_type=sa.Uuid(), nullable=False)
