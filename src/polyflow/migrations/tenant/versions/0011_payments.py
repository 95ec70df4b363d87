"""payments: customer receipts and supplier payments, allocations to invoices, bank charges, withholding slips

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 17:00:00

Existing tenants also get 6910 Beban Administrasi Bank (bank charges), only where a chart exists; new
tenants get it from the chart's seeds (erp/accounting/seeds.py).
"""

from alembic import op
import sqlalchemy as sa

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

ACCOUNTS = [{"code": "6910", "name": "Beban Administrasi Bank", "type": "expense"}]


def upgrade() -> None:
    op.create_table('payments',
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('direction', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=12), server_default='posted', nullable=False),
    sa.Column('partner_id', sa.Uuid(), nullable=False),
    sa.Column('payment_date', sa.Date(), nullable=False),
    sa.Column('account_code', sa.String(length=20), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('allocated', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('bank_charges', sa.Numeric(precision=18, scale=2), server_default='0', nullable=False),
    sa.Column('withheld', sa.Numeric(precision=18, scale=2), server_default='0', nullable=False),
    sa.Column('withholding_slip_no', sa.String(length=64), nullable=True),
    sa.Column('withholding_date', sa.Date(), nullable=True),
    sa.Column('reference', sa.String(length=100), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('journal_entry_id', sa.Uuid(), nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('cancel_entry_id', sa.Uuid(), nullable=True),
    sa.Column('cancel_date', sa.Date(), nullable=True),
    sa.Column('cancel_reason', sa.String(length=500), nullable=True),
    sa.Column('cancelled_by', sa.Uuid(), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("direction IN ('in', 'out')", name=op.f('ck_payments_direction')),
    sa.CheckConstraint("status IN ('posted', 'cancelled')", name=op.f('ck_payments_status')),
    sa.CheckConstraint('amount >= 0 AND bank_charges >= 0 AND withheld >= 0 AND allocated > 0',
                       name=op.f('ck_payments_amounts')),
    sa.CheckConstraint("(direction = 'in' AND amount + bank_charges + withheld = allocated) OR "
                       "(direction = 'out' AND amount + withheld = allocated + bank_charges)",
                       name=op.f('ck_payments_ties_out')),
    sa.CheckConstraint('withheld = 0 OR (withholding_slip_no IS NOT NULL AND withholding_date IS NOT NULL)',
                       name=op.f('ck_payments_withholding_slip')),
    sa.ForeignKeyConstraint(['account_code'], ['accounts.code'], name=op.f('fk_payments_account_code_accounts'),
                            onupdate='CASCADE'),
    sa.ForeignKeyConstraint(['cancel_entry_id'], ['journal_entries.id'],
                            name=op.f('fk_payments_cancel_entry_id_journal_entries')),
    sa.ForeignKeyConstraint(['cancelled_by'], ['users.id'], name=op.f('fk_payments_cancelled_by_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_payments_created_by_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['journal_entry_id'], ['journal_entries.id'],
                            name=op.f('fk_payments_journal_entry_id_journal_entries')),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_payments_partner_id_partners')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments')),
    sa.UniqueConstraint('number', name=op.f('uq_payments_number'))
    )
    op.create_index('ix_payments_partner_id_payment_date', 'payments', ['partner_id', 'payment_date'], unique=False)
    op.create_index(op.f('ix_payments_withholding_date'), 'payments', ['withholding_date'], unique=False)

    op.create_table('payment_allocations',
    sa.Column('payment_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), server_default='0', nullable=False),
    sa.Column('sales_invoice_id', sa.Uuid(), nullable=True),
    sa.Column('purchase_invoice_id', sa.Uuid(), nullable=True),
    sa.Column('invoice_number', sa.String(length=32), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('amount <> 0', name=op.f('ck_payment_allocations_amount')),
    sa.CheckConstraint('num_nonnulls(sales_invoice_id, purchase_invoice_id) = 1',
                       name=op.f('ck_payment_allocations_one_invoice')),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_payment_allocations_payment_id_payments'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['purchase_invoice_id'], ['purchase_invoices.id'],
                            name=op.f('fk_payment_allocations_purchase_invoice_id_purchase_invoices')),
    sa.ForeignKeyConstraint(['sales_invoice_id'], ['sales_invoices.id'],
                            name=op.f('fk_payment_allocations_sales_invoice_id_sales_invoices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_allocations'))
    )
    op.create_index(op.f('ix_payment_allocations_payment_id'), 'payment_allocations', ['payment_id'], unique=False)
    op.create_index(op.f('ix_payment_allocations_purchase_invoice_id'), 'payment_allocations',
                    ['purchase_invoice_id'], unique=False)
    op.create_index(op.f('ix_payment_allocations_sales_invoice_id'), 'payment_allocations', ['sales_invoice_id'],
                    unique=False)

    # A fresh database (a template) has no chart yet: its seeds add the account with the rest.
    if not op.get_bind().execute(sa.text("SELECT EXISTS (SELECT 1 FROM accounts)")).scalar():
        return
    for row in ACCOUNTS:
        # An account a tenant already created under that code is left as it is.
        op.execute(sa.text("INSERT INTO accounts (code, name, type) VALUES (:code, :name, :type) "
                           "ON CONFLICT DO NOTHING").bindparams(**row))


def downgrade() -> None:
    op.drop_index(op.f('ix_payment_allocations_sales_invoice_id'), table_name='payment_allocations')
    op.drop_index(op.f('ix_payment_allocations_purchase_invoice_id'), table_name='payment_allocations')
    op.drop_index(op.f('ix_payment_allocations_payment_id'), table_name='payment_allocations')
    op.drop_table('payment_allocations')
    op.drop_index(op.f('ix_payments_withholding_date'), table_name='payments')
    op.drop_index('ix_payments_partner_id_payment_date', table_name='payments')
    op.drop_table('payments')
    # The account stays if anything posted to it; otherwise it goes with the revision.
    op.execute(sa.text("DELETE FROM accounts a WHERE a.code = '6910' AND NOT EXISTS "
                       "(SELECT 1 FROM journal_lines l WHERE l.account_code = a.code)"))
