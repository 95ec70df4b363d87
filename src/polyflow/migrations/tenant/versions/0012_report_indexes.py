"""reports over long histories: journal lines carry their entry's date, closed months are summed once

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 17:30:00

Measured by `python bench/ledger.py` (one month vs three years of one plant):
- `journal_lines.line_date` (its entry's date), copied from the entry by a BEFORE INSERT trigger (whatever the code path;
  lines are immutable, revision 0007), indexed with the account and the amounts: a month's lines (P&L,
  one account's GL, the PPN summary's GL check) are one index-only range scan instead of a join that
  scanned every line of the history.
- `closed_month_balances`: per account and calendar month, the sums of the lines of months that lie
  entirely on or before the books-closed-through date (kept by accounting.set_books_closed_through:
  added when the date moves forward, removed when it moves back). Nothing can post into a closed day, so
  these sums never go stale; the trial balance, balance sheet and GL opening read them plus the open
  days' lines, instead of summing every line since the first day.
- `stock_movements.posting_date`: the valuation as of a date starts from the variants' running totals
  and takes back only the movements after that date.
- open sales / supplier invoices (partial indexes: the agings read the open ones, not every invoice), and
  invoice dates with the tax figures (the PPN summary's month and its month-by-month carried overpayment
  read from the index alone).
"""

from alembic import op
import sqlalchemy as sa

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('journal_lines', sa.Column('line_date', sa.Date(), nullable=True))
    # Lines are immutable (0007) and balance-checked (0003): both triggers stand aside for the one-off copy.
    op.execute("ALTER TABLE journal_lines DISABLE TRIGGER journal_lines_immutable")
    op.execute("ALTER TABLE journal_lines DISABLE TRIGGER journal_lines_balance")
    op.execute("UPDATE journal_lines l SET line_date = e.entry_date FROM journal_entries e WHERE e.id = l.entry_id")
    op.execute("ALTER TABLE journal_lines ENABLE TRIGGER journal_lines_balance")
    op.execute("ALTER TABLE journal_lines ENABLE TRIGGER journal_lines_immutable")
    op.alter_column('journal_lines', 'line_date', nullable=False)
    op.execute("""
        CREATE FUNCTION journal_line_date() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            d date;
        BEGIN
            SELECT entry_date INTO d FROM journal_entries WHERE id = NEW.entry_id;
            -- Not found: a data load that brings the lines before their entries keeps the copied date.
            IF FOUND THEN
                NEW.line_date := d;
            END IF;
            RETURN NEW;
        END $$""")
    op.execute("""CREATE TRIGGER journal_lines_line_date BEFORE INSERT ON journal_lines
                  FOR EACH ROW EXECUTE FUNCTION journal_line_date()""")
    op.drop_index('ix_journal_lines_account_code', table_name='journal_lines')
    op.create_index('ix_journal_lines_account_code_line_date', 'journal_lines', ['account_code', 'line_date'],
                    postgresql_include=['debit', 'credit'])
    op.create_index('ix_journal_lines_line_date', 'journal_lines', ['line_date'],
                    postgresql_include=['account_code', 'debit', 'credit'])

    op.create_table('closed_month_balances',
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('account_code', sa.String(length=20), nullable=False),
    sa.Column('debit', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('credit', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.CheckConstraint("month = date_trunc('month', month)::date", name=op.f('ck_closed_month_balances_first_day')),
    sa.ForeignKeyConstraint(['account_code'], ['accounts.code'],
                            name=op.f('fk_closed_month_balances_account_code_accounts')),
    sa.PrimaryKeyConstraint('month', 'account_code', name=op.f('pk_closed_month_balances'))
    )
    # Tenants whose books are already closed get their closed months now.
    op.execute("""
        INSERT INTO closed_month_balances (month, account_code, debit, credit)
        SELECT date_trunc('month', l.line_date)::date, l.account_code, sum(l.debit), sum(l.credit)
        FROM journal_lines l, tenant_settings s
        WHERE s.id = 1 AND s.books_closed_through IS NOT NULL
          AND l.line_date < date_trunc('month', s.books_closed_through + 1)::date
        GROUP BY 1, 2""")

    op.create_index('ix_stock_movements_posting_date', 'stock_movements', ['posting_date'])
    op.create_index('ix_sales_invoices_open_due_date', 'sales_invoices', ['due_date', 'number'],
                    postgresql_where=sa.text('open_amount > 0'))
    op.create_index('ix_sales_invoices_invoice_date', 'sales_invoices', ['invoice_date'],
                    postgresql_include=['status', 'kind', 'tax', 'dp_tax_deducted'])
    op.create_index('ix_purchase_invoices_open_invoice_date', 'purchase_invoices', ['invoice_date'],
                    postgresql_where=sa.text("status IN ('open', 'partially_paid')"))
    op.create_index('ix_purchase_invoices_invoice_date', 'purchase_invoices', ['invoice_date'],
                    postgresql_include=['status', 'tax_amount'])


def downgrade() -> None:
    for name, table in (('ix_purchase_invoices_invoice_date', 'purchase_invoices'),
                        ('ix_purchase_invoices_open_invoice_date', 'purchase_invoices'),
                        ('ix_sales_invoices_invoice_date', 'sales_invoices'),
                        ('ix_sales_invoices_open_due_date', 'sales_invoices')):
        op.drop_index(name, table_name=table)
    op.drop_index('ix_stock_movements_posting_date', table_name='stock_movements')
    op.drop_table('closed_month_balances')
    op.drop_index('ix_journal_lines_line_date', table_name='journal_lines')
    op.drop_index('ix_journal_lines_account_code_line_date', table_name='journal_lines')
    op.create_index('ix_journal_lines_account_code', 'journal_lines', ['account_code'])
    op.execute("DROP TRIGGER journal_lines_line_date ON journal_lines")
    op.execute("DROP FUNCTION journal_line_date()")
    op.drop_column('journal_lines', 'line_date')
