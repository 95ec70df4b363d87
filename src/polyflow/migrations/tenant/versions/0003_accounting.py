"""accounting: chart of accounts, journals (balanced at commit), fiscal periods, document counters, settings

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 14:05:00
"""

from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

# Deferred: lines are inserted one by one, so the check runs once at COMMIT, over the whole entry.
BALANCE_FN = """
CREATE FUNCTION journal_entry_must_balance() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    eid uuid;
    d numeric;
    c numeric;
    n integer;
BEGIN
    IF TG_TABLE_NAME = 'journal_entries' THEN
        eid := NEW.id;
    ELSIF TG_OP = 'DELETE' THEN
        eid := OLD.entry_id;
    ELSE
        eid := NEW.entry_id;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM journal_entries WHERE id = eid) THEN
        RETURN NULL;  -- the whole entry was deleted
    END IF;
    SELECT coalesce(sum(debit), 0), coalesce(sum(credit), 0), count(*) INTO d, c, n
      FROM journal_lines WHERE entry_id = eid;
    IF n < 2 OR d <> c OR d = 0 THEN
        RAISE EXCEPTION 'journal entry % does not balance (debit %, credit %, % lines)', eid, d, c, n
            USING ERRCODE = '23514';
    END IF;
    RETURN NULL;
END $$;
"""

PERIOD_FN = """
CREATE FUNCTION journal_entry_period_open() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM fiscal_periods
                WHERE year = extract(year FROM NEW.entry_date)::int
                  AND month = extract(month FROM NEW.entry_date)::int AND is_locked) THEN
        RAISE EXCEPTION 'fiscal period %-% is locked', extract(year FROM NEW.entry_date),
            lpad(extract(month FROM NEW.entry_date)::text, 2, '0') USING ERRCODE = '23514';
    END IF;
    IF TG_OP = 'UPDATE' AND EXISTS (SELECT 1 FROM fiscal_periods
                WHERE year = extract(year FROM OLD.entry_date)::int
                  AND month = extract(month FROM OLD.entry_date)::int AND is_locked) THEN
        RAISE EXCEPTION 'fiscal period of entry % is locked', OLD.number USING ERRCODE = '23514';
    END IF;
    RETURN NEW;
END $$;
"""


def upgrade() -> None:
    op.create_table('accounts',
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("type IN ('asset', 'liability', 'equity', 'revenue', 'expense')", name=op.f('ck_accounts_type')),
    sa.CheckConstraint("code ~ '^[0-9A-Z.-]+$'", name=op.f('ck_accounts_code_format')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_accounts'))
    )
    op.create_table('document_counters',
    sa.Column('doc_type', sa.String(length=8), nullable=False),
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('doc_type', 'year', name=op.f('pk_document_counters'))
    )
    op.create_table('fiscal_periods',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('month', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('is_locked', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('locked_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('month BETWEEN 1 AND 12', name=op.f('ck_fiscal_periods_month')),
    sa.PrimaryKeyConstraint('year', 'month', name=op.f('pk_fiscal_periods'))
    )
    op.create_table('tenant_settings',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('company_name', sa.String(length=200), server_default='', nullable=False),
    sa.Column('npwp', sa.String(length=32), nullable=True),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('phone', sa.String(length=50), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('currency', sa.String(length=3), server_default='IDR', nullable=False),
    sa.Column('ppn_rate', sa.Numeric(precision=5, scale=2), server_default='11', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_tenant_settings_single_row')),
    sa.CheckConstraint('ppn_rate >= 0 AND ppn_rate <= 100', name=op.f('ck_tenant_settings_ppn_rate')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenant_settings'))
    )
    op.create_table('journal_entries',
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('doc_type', sa.String(length=8), nullable=False),
    sa.Column('entry_date', sa.Date(), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=True),
    sa.Column('source', sa.String(length=20), server_default='manual', nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_journal_entries_created_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journal_entries')),
    sa.UniqueConstraint('number', name=op.f('uq_journal_entries_number'))
    )
    op.create_index('ix_journal_entries_entry_date', 'journal_entries', ['entry_date'], unique=False)
    op.create_table('journal_lines',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('entry_id', sa.Uuid(), nullable=False),
    sa.Column('account_code', sa.String(length=20), nullable=False),
    sa.Column('debit', sa.Numeric(precision=18, scale=2), server_default='0', nullable=False),
    sa.Column('credit', sa.Numeric(precision=18, scale=2), server_default='0', nullable=False),
    sa.Column('memo', sa.String(length=200), nullable=True),
    sa.CheckConstraint('debit >= 0 AND credit >= 0 AND (debit = 0) <> (credit = 0)', name=op.f('ck_journal_lines_one_side')),
    sa.ForeignKeyConstraint(['account_code'], ['accounts.code'], name=op.f('fk_journal_lines_account_code_accounts')),
    sa.ForeignKeyConstraint(['entry_id'], ['journal_entries.id'], name=op.f('fk_journal_lines_entry_id_journal_entries'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journal_lines'))
    )
    op.create_index('ix_journal_lines_account_code', 'journal_lines', ['account_code'], unique=False)
    op.create_index('ix_journal_lines_entry_id', 'journal_lines', ['entry_id'], unique=False)
    op.execute(BALANCE_FN)
    op.execute("""CREATE CONSTRAINT TRIGGER journal_lines_balance AFTER INSERT OR UPDATE OR DELETE ON journal_lines
                  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION journal_entry_must_balance()""")
    op.execute("""CREATE CONSTRAINT TRIGGER journal_entries_balance AFTER INSERT ON journal_entries
                  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION journal_entry_must_balance()""")
    op.execute(PERIOD_FN)
    op.execute("""CREATE TRIGGER journal_entries_period_open BEFORE INSERT OR UPDATE ON journal_entries
                  FOR EACH ROW EXECUTE FUNCTION journal_entry_period_open()""")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS journal_entries_period_open ON journal_entries")
    op.execute("DROP TRIGGER IF EXISTS journal_entries_balance ON journal_entries")
    op.execute("DROP TRIGGER IF EXISTS journal_lines_balance ON journal_lines")
    op.execute("DROP FUNCTION IF EXISTS journal_entry_period_open()")
    op.execute("DROP FUNCTION IF EXISTS journal_entry_must_balance()")
    op.drop_index('ix_journal_lines_entry_id', table_name='journal_lines')
    op.drop_index('ix_journal_lines_account_code', table_name='journal_lines')
    op.drop_table('journal_lines')
    op.drop_index('ix_journal_entries_entry_date', table_name='journal_entries')
    op.drop_table('journal_entries')
    op.drop_table('tenant_settings')
    op.drop_table('fiscal_periods')
    op.drop_table('document_counters')
    op.drop_table('accounts')
