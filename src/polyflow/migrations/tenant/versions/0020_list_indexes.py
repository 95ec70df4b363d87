"""list indexes: the document lists' default order (by date, newest first) as an index

The sales and purchasing lists show 50 documents by date, newest first, with ties by creation. Without an
index on that order every page read every matching row, sorted them and kept 50 (the page's count(*) OVER ()
did the same), so a page cost grew with the years of history. With these an ORDER BY ... LIMIT walks the
index (backwards for newest first) and stops after the page.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-29 23:30:00
"""

from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

INDEXES = (
    ('ix_sales_orders_order_date_created_at', 'sales_orders', ['order_date', 'created_at']),
    ('ix_deliveries_delivery_date_created_at', 'deliveries', ['delivery_date', 'created_at']),
    # Invoices and credit notes are separate lists: the kind first, so a list's count reads the index only.
    ('ix_sales_invoices_kind_invoice_date_created_at', 'sales_invoices', ['kind', 'invoice_date', 'created_at']),
    ('ix_purchase_orders_order_date_created_at_id', 'purchase_orders', ['order_date', 'created_at', 'id']),
    ('ix_goods_receipts_receipt_date_created_at_id', 'goods_receipts', ['receipt_date', 'created_at', 'id']),
    ('ix_purchase_invoices_invoice_date_created_at_id', 'purchase_invoices', ['invoice_date', 'created_at', 'id']),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
