"""sales: quotations, sales orders, deliveries, sales invoices, returns and credit notes

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 17:00:00

Existing tenants also get the two accounts sales needs (4110 Retur Penjualan, contra-revenue of credit
notes; 2160 Uang Muka Penjualan, customer down payments), only where a chart exists; new tenants get
them from the chart's seeds (erp/accounting/seeds.py).
"""

from alembic import op
import sqlalchemy as sa

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

ACCOUNTS = [
    {"code": "2160", "name": "Uang Muka Penjualan", "type": "liability"},
    {"code": "4110", "name": "Retur Penjualan", "type": "revenue"},
]


def upgrade() -> None:
    op.create_table('sales_orders',
    sa.Column('number', sa.String(length=32), nullable=True),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('order_date', sa.Date(), nullable=False),
    sa.Column('location_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=20), server_default='draft', nullable=False),
    sa.Column('customer_reference', sa.String(length=100), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('invoiced_total', sa.Numeric(precision=18, scale=2), server_default='0', nullable=False),
    sa.Column('dp_base', sa.Numeric(precision=18, scale=2), server_default='0', nullable=False),
    sa.Column('dp_tax', sa.Numeric(precision=18, scale=2), server_default='0', nullable=False),
    sa.Column('dp_base_deducted', sa.Numeric(precision=18, scale=2), server_default='0', nullable=False),
    sa.Column('dp_tax_deducted', sa.Numeric(precision=18, scale=2), server_default='0', nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('confirmed_by', sa.Uuid(), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('prices_include_tax', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('base', sa.Numeric(precision=18, scale=2), server_default='0', nullable=False),
    sa.Column('tax', sa.Numeric(precision=18, scale=2), server_default='0', nullable=False),
    sa.Column('total', sa.Numeric(precision=18, scale=2), server_default='0', nullable=False),
    sa.CheckConstraint("status IN ('draft', 'confirmed', 'partially_delivered', 'delivered', 'invoiced', 'closed', 'cancelled')", name=op.f('ck_sales_orders_status')),
    sa.ForeignKeyConstraint(['confirmed_by'], ['users.id'], name=op.f('fk_sales_orders_confirmed_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_sales_orders_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['partners.id'], name=op.f('fk_sales_orders_customer_id_partners')),
    sa.ForeignKeyConstraint(['location_id'], ['locations.id'], name=op.f('fk_sales_orders_location_id_locations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_orders')),
    sa.UniqueConstraint('number', name=op.f('uq_sales_orders_number'))
    )
    op.create_index('ix_sales_orders_customer_id_status', 'sales_orders', ['customer_id', 'status'], unique=False)
    op.create_table('deliveries',
    sa.Column('number', sa.String(length=32), nullable=True),
    sa.Column('order_id', sa.Uuid(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('location_id', sa.Uuid(), nullable=False),
    sa.Column('delivery_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=12), server_default='draft', nullable=False),
    sa.Column('vehicle', sa.String(length=50), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('posted_by', sa.Uuid(), nullable=True),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('draft', 'posted', 'cancelled')", name=op.f('ck_deliveries_status')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_deliveries_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['partners.id'], name=op.f('fk_deliveries_customer_id_partners')),
    sa.ForeignKeyConstraint(['location_id'], ['locations.id'], name=op.f('fk_deliveries_location_id_locations')),
    sa.ForeignKeyConstraint(['order_id'], ['sales_orders.id'], name=op.f('fk_deliveries_order_id_sales_orders')),
    sa.ForeignKeyConstraint(['posted_by'], ['users.id'], name=op.f('fk_deliveries_posted_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deliveries')),
    sa.UniqueConstraint('number', name=op.f('uq_deliveries_number'))
    )
    op.create_index(op.f('ix_deliveries_order_id'), 'deliveries', ['order_id'], unique=False)
    op.create_table('quotations',
    sa.Column('number', sa.String(length=32), nullable=True),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('quote_date', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=12), server_default='draft', nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('sales_order_id', sa.Uuid(), nullable=True),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('prices_include_tax', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('base', sa.Numeric(precision=18, scale=2), server_default='0', nullable=False),
    sa.Column('tax', sa.Numeric(precision=18, scale=2), server_default='0', nullable=False),
    sa.Column('total', sa.Numeric(precision=18, scale=2), server_default='0', nullable=False),
    sa.CheckConstraint("status IN ('draft', 'sent', 'accepted', 'rejected', 'expired')", name=op.f('ck_quotations_status')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_quotations_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['partners.id'], name=op.f('fk_quotations_customer_id_partners')),
    sa.ForeignKeyConstraint(['sales_order_id'], ['sales_orders.id'], name=op.f('fk_quotations_sales_order_id_sales_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quotations')),
    sa.UniqueConstraint('number', name=op.f('uq_quotations_number'))
    )
    op.create_index(op.f('ix_quotations_customer_id'), 'quotations', ['customer_id'], unique=False)
    op.create_table('sales_invoices',
    sa.Column('number', sa.String(length=32), nullable=True),
    sa.Column('kind', sa.String(length=12), server_default='invoice', nullable=False),
    sa.Column('order_id', sa.Uuid(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('invoice_date', sa.Date(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='draft', nullable=False),
    sa.Column('other_base', sa.Numeric(precision=18, scale=2), server_default='0', nullable=False),
    sa.Column('paid', sa.Numeric(precision=18, scale=2), server_default='0', nullable=False),
    sa.Column('credited', sa.Numeric(precision=18, scale=2), server_default='0', nullable=False),
    sa.Column('open_amount', sa.Numeric(precision=18, scale=2), server_default='0', nullable=False),
    sa.Column('is_down_payment', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('dp_base_deducted', sa.Numeric(precision=18, scale=2), server_default='0', nullable=False),
    sa.Column('dp_tax_deducted', sa.Numeric(precision=18, scale=2), server_default='0', nullable=False),
    sa.Column('credit_note_of_id', sa.Uuid(), nullable=True),
    sa.Column('journal_entry_id', sa.Uuid(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('trx_code', sa.String(length=2), nullable=True),
    sa.Column('buyer_name', sa.String(length=200), nullable=True),
    sa.Column('buyer_tin', sa.String(length=16), nullable=True),
    sa.Column('buyer_document', sa.String(length=10), nullable=True),
    sa.Column('buyer_idtku', sa.String(length=22), nullable=True),
    sa.Column('buyer_address', sa.Text(), nullable=True),
    sa.Column('buyer_is_pkp', sa.Boolean(), nullable=True),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('posted_by', sa.Uuid(), nullable=True),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('prices_include_tax', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('base', sa.Numeric(precision=18, scale=2), server_default='0', nullable=False),
    sa.Column('tax', sa.Numeric(precision=18, scale=2), server_default='0', nullable=False),
    sa.Column('total', sa.Numeric(precision=18, scale=2), server_default='0', nullable=False),
    sa.CheckConstraint("kind = 'invoice' OR credit_note_of_id IS NOT NULL", name=op.f('ck_sales_invoices_credit_note_of')),
    sa.CheckConstraint("kind IN ('invoice', 'credit_note')", name=op.f('ck_sales_invoices_kind')),
    sa.CheckConstraint("status IN ('draft', 'open', 'partially_paid', 'paid', 'cancelled')", name=op.f('ck_sales_invoices_status')),
    sa.CheckConstraint('open_amount >= 0 AND open_amount <= total', name=op.f('ck_sales_invoices_open_amount')),
    sa.CheckConstraint('paid >= 0 AND credited >= 0', name=op.f('ck_sales_invoices_settled')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_sales_invoices_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['credit_note_of_id'], ['sales_invoices.id'], name=op.f('fk_sales_invoices_credit_note_of_id_sales_invoices')),
    sa.ForeignKeyConstraint(['customer_id'], ['partners.id'], name=op.f('fk_sales_invoices_customer_id_partners')),
    sa.ForeignKeyConstraint(['journal_entry_id'], ['journal_entries.id'], name=op.f('fk_sales_invoices_journal_entry_id_journal_entries')),
    sa.ForeignKeyConstraint(['order_id'], ['sales_orders.id'], name=op.f('fk_sales_invoices_order_id_sales_orders')),
    sa.ForeignKeyConstraint(['posted_by'], ['users.id'], name=op.f('fk_sales_invoices_posted_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_invoices')),
    sa.UniqueConstraint('number', name=op.f('uq_sales_invoices_number'))
    )
    op.create_index(op.f('ix_sales_invoices_credit_note_of_id'), 'sales_invoices', ['credit_note_of_id'], unique=False)
    op.create_index('ix_sales_invoices_customer_id_status', 'sales_invoices', ['customer_id', 'status'], unique=False)
    op.create_index(op.f('ix_sales_invoices_order_id'), 'sales_invoices', ['order_id'], unique=False)
    op.create_table('sales_order_lines',
    sa.Column('order_id', sa.Uuid(), nullable=False),
    sa.Column('qty_reserved', sa.Numeric(precision=18, scale=3), server_default='0', nullable=False),
    sa.Column('qty_delivered', sa.Numeric(precision=18, scale=3), server_default='0', nullable=False),
    sa.Column('qty_invoiced', sa.Numeric(precision=18, scale=3), server_default='0', nullable=False),
    sa.Column('qty_returned', sa.Numeric(precision=18, scale=3), server_default='0', nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('variant_id', sa.Uuid(), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=18, scale=3), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('discount_percent', sa.Numeric(precision=5, scale=2), server_default='0', nullable=False),
    sa.Column('tax_code', sa.String(length=20), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('base', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('tax', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.CheckConstraint('qty_delivered >= 0 AND qty_delivered <= quantity', name=op.f('ck_sales_order_lines_qty_delivered')),
    sa.CheckConstraint('qty_invoiced >= 0 AND qty_invoiced <= qty_delivered', name=op.f('ck_sales_order_lines_qty_invoiced')),
    sa.CheckConstraint('qty_reserved >= 0 AND qty_reserved <= quantity', name=op.f('ck_sales_order_lines_qty_reserved')),
    sa.CheckConstraint('qty_returned >= 0 AND qty_returned <= qty_delivered', name=op.f('ck_sales_order_lines_qty_returned')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_sales_order_lines_quantity')),
    sa.ForeignKeyConstraint(['order_id'], ['sales_orders.id'], name=op.f('fk_sales_order_lines_order_id_sales_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['variant_id'], ['product_variants.id'], name=op.f('fk_sales_order_lines_variant_id_product_variants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_order_lines'))
    )
    op.create_index(op.f('ix_sales_order_lines_order_id'), 'sales_order_lines', ['order_id'], unique=False)
    op.create_table('delivery_lines',
    sa.Column('delivery_id', sa.Uuid(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('order_line_id', sa.Uuid(), nullable=False),
    sa.Column('variant_id', sa.Uuid(), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=18, scale=3), nullable=False),
    sa.Column('movement_id', sa.Uuid(), nullable=True),
    sa.Column('cost', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('qty_returned', sa.Numeric(precision=18, scale=3), server_default='0', nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('qty_returned >= 0 AND qty_returned <= quantity', name=op.f('ck_delivery_lines_qty_returned')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_delivery_lines_quantity')),
    sa.ForeignKeyConstraint(['delivery_id'], ['deliveries.id'], name=op.f('fk_delivery_lines_delivery_id_deliveries'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['movement_id'], ['stock_movements.id'], name=op.f('fk_delivery_lines_movement_id_stock_movements')),
    sa.ForeignKeyConstraint(['order_line_id'], ['sales_order_lines.id'], name=op.f('fk_delivery_lines_order_line_id_sales_order_lines')),
    sa.ForeignKeyConstraint(['variant_id'], ['product_variants.id'], name=op.f('fk_delivery_lines_variant_id_product_variants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_lines'))
    )
    op.create_index(op.f('ix_delivery_lines_delivery_id'), 'delivery_lines', ['delivery_id'], unique=False)
    op.create_index(op.f('ix_delivery_lines_order_line_id'), 'delivery_lines', ['order_line_id'], unique=False)
    op.create_table('quotation_lines',
    sa.Column('quotation_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('variant_id', sa.Uuid(), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=18, scale=3), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('discount_percent', sa.Numeric(precision=5, scale=2), server_default='0', nullable=False),
    sa.Column('tax_code', sa.String(length=20), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('base', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('tax', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_quotation_lines_quantity')),
    sa.ForeignKeyConstraint(['quotation_id'], ['quotations.id'], name=op.f('fk_quotation_lines_quotation_id_quotations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['variant_id'], ['product_variants.id'], name=op.f('fk_quotation_lines_variant_id_product_variants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quotation_lines'))
    )
    op.create_index(op.f('ix_quotation_lines_quotation_id'), 'quotation_lines', ['quotation_id'], unique=False)
    op.create_table('sales_invoice_lines',
    sa.Column('invoice_id', sa.Uuid(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('order_line_id', sa.Uuid(), nullable=False),
    sa.Column('variant_id', sa.Uuid(), nullable=False),
    sa.Column('item_code', sa.String(length=64), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('unit_code', sa.String(length=16), nullable=False),
    sa.Column('goods_or_services', sa.String(length=1), server_default='A', nullable=False),
    sa.Column('quantity', sa.Numeric(precision=18, scale=3), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('discount', sa.Numeric(precision=18, scale=2), server_default='0', nullable=False),
    sa.Column('tax_code', sa.String(length=20), nullable=False),
    sa.Column('tax_rate', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('base', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('other_base', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('tax', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('qty_credited', sa.Numeric(precision=18, scale=3), server_default='0', nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("goods_or_services IN ('A', 'B')", name=op.f('ck_sales_invoice_lines_goods_or_services')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_sales_invoice_lines_quantity')),
    sa.ForeignKeyConstraint(['invoice_id'], ['sales_invoices.id'], name=op.f('fk_sales_invoice_lines_invoice_id_sales_invoices'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_line_id'], ['sales_order_lines.id'], name=op.f('fk_sales_invoice_lines_order_line_id_sales_order_lines')),
    sa.ForeignKeyConstraint(['variant_id'], ['product_variants.id'], name=op.f('fk_sales_invoice_lines_variant_id_product_variants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_invoice_lines'))
    )
    op.create_index(op.f('ix_sales_invoice_lines_invoice_id'), 'sales_invoice_lines', ['invoice_id'], unique=False)
    op.create_index(op.f('ix_sales_invoice_lines_order_line_id'), 'sales_invoice_lines', ['order_line_id'], unique=False)
    op.create_table('sales_returns',
    sa.Column('number', sa.String(length=32), nullable=True),
    sa.Column('invoice_id', sa.Uuid(), nullable=False),
    sa.Column('order_id', sa.Uuid(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('location_id', sa.Uuid(), nullable=False),
    sa.Column('return_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=12), server_default='draft', nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('credit_note_id', sa.Uuid(), nullable=True),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('posted_by', sa.Uuid(), nullable=True),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('draft', 'posted', 'cancelled')", name=op.f('ck_sales_returns_status')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_sales_returns_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['credit_note_id'], ['sales_invoices.id'], name=op.f('fk_sales_returns_credit_note_id_sales_invoices')),
    sa.ForeignKeyConstraint(['customer_id'], ['partners.id'], name=op.f('fk_sales_returns_customer_id_partners')),
    sa.ForeignKeyConstraint(['invoice_id'], ['sales_invoices.id'], name=op.f('fk_sales_returns_invoice_id_sales_invoices')),
    sa.ForeignKeyConstraint(['location_id'], ['locations.id'], name=op.f('fk_sales_returns_location_id_locations')),
    sa.ForeignKeyConstraint(['order_id'], ['sales_orders.id'], name=op.f('fk_sales_returns_order_id_sales_orders')),
    sa.ForeignKeyConstraint(['posted_by'], ['users.id'], name=op.f('fk_sales_returns_posted_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_returns')),
    sa.UniqueConstraint('number', name=op.f('uq_sales_returns_number'))
    )
    op.create_index(op.f('ix_sales_returns_invoice_id'), 'sales_returns', ['invoice_id'], unique=False)
    op.create_table('sales_return_lines',
    sa.Column('return_id', sa.Uuid(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('delivery_line_id', sa.Uuid(), nullable=False),
    sa.Column('invoice_line_id', sa.Uuid(), nullable=False),
    sa.Column('variant_id', sa.Uuid(), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=18, scale=3), nullable=False),
    sa.Column('movement_id', sa.Uuid(), nullable=True),
    sa.Column('cost', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_sales_return_lines_quantity')),
    sa.ForeignKeyConstraint(['delivery_line_id'], ['delivery_lines.id'], name=op.f('fk_sales_return_lines_delivery_line_id_delivery_lines')),
    sa.ForeignKeyConstraint(['invoice_line_id'], ['sales_invoice_lines.id'], name=op.f('fk_sales_return_lines_invoice_line_id_sales_invoice_lines')),
    sa.ForeignKeyConstraint(['movement_id'], ['stock_movements.id'], name=op.f('fk_sales_return_lines_movement_id_stock_movements')),
    sa.ForeignKeyConstraint(['return_id'], ['sales_returns.id'], name=op.f('fk_sales_return_lines_return_id_sales_returns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['variant_id'], ['product_variants.id'], name=op.f('fk_sales_return_lines_variant_id_product_variants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_return_lines'))
    )
    op.create_index(op.f('ix_sales_return_lines_delivery_line_id'), 'sales_return_lines', ['delivery_line_id'], unique=False)
    op.create_index(op.f('ix_sales_return_lines_return_id'), 'sales_return_lines', ['return_id'], unique=False)

    # A fresh database (a template) has no chart yet: its seeds add these accounts with the rest.
    if not op.get_bind().execute(sa.text("SELECT EXISTS (SELECT 1 FROM accounts)")).scalar():
        return
    for row in ACCOUNTS:
        # An account a tenant already created under that code is left as it is.
        op.execute(sa.text("INSERT INTO accounts (code, name, type) VALUES (:code, :name, :type) "
                           "ON CONFLICT DO NOTHING").bindparams(**row))


def downgrade() -> None:
    op.drop_index(op.f('ix_sales_return_lines_return_id'), table_name='sales_return_lines')
    op.drop_index(op.f('ix_sales_return_lines_delivery_line_id'), table_name='sales_return_lines')
    op.drop_table('sales_return_lines')
    op.drop_index(op.f('ix_sales_returns_invoice_id'), table_name='sales_returns')
    op.drop_table('sales_returns')
    op.drop_index(op.f('ix_sales_invoice_lines_order_line_id'), table_name='sales_invoice_lines')
    op.drop_index(op.f('ix_sales_invoice_lines_invoice_id'), table_name='sales_invoice_lines')
    op.drop_table('sales_invoice_lines')
    op.drop_index(op.f('ix_quotation_lines_quotation_id'), table_name='quotation_lines')
    op.drop_table('quotation_lines')
    op.drop_index(op.f('ix_delivery_lines_order_line_id'), table_name='delivery_lines')
    op.drop_index(op.f('ix_delivery_lines_delivery_id'), table_name='delivery_lines')
    op.drop_table('delivery_lines')
    op.drop_index(op.f('ix_sales_order_lines_order_id'), table_name='sales_order_lines')
    op.drop_table('sales_order_lines')
    op.drop_index(op.f('ix_sales_invoices_order_id'), table_name='sales_invoices')
    op.drop_index('ix_sales_invoices_customer_id_status', table_name='sales_invoices')
    op.drop_index(op.f('ix_sales_invoices_credit_note_of_id'), table_name='sales_invoices')
    op.drop_table('sales_invoices')
    op.drop_index(op.f('ix_quotations_customer_id'), table_name='quotations')
    op.drop_table('quotations')
    op.drop_index(op.f('ix_deliveries_order_id'), table_name='deliveries')
    op.drop_table('deliveries')
    op.drop_index('ix_sales_orders_customer_id_status', table_name='sales_orders')
    op.drop_table('sales_orders')
    # The accounts stay if anything posted to them; otherwise they go with the revision.
    op.execute(sa.text("DELETE FROM accounts a WHERE a.code IN ('2160', '4110') AND NOT EXISTS "
                       "(SELECT 1 FROM journal_lines l WHERE l.account_code = a.code)"))
