"""ledger controls: books closed through, posting window, journal states and reversal

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 16:30:00
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

# Deferred balance check of 0003, now skipping drafts (their lines are not in journal_lines yet).
BALANCE_FN = """
CREATE OR REPLACE FUNCTION journal_entry_must_balance() RETURNS trigger LANGUAGE plpgsql AS $$
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
    IF NOT EXISTS (SELECT 1 FROM journal_entries WHERE id = eid AND status = 'posted') THEN
        RETURN NULL;  -- deleted, or a draft
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

OLD_BALANCE_FN = BALANCE_FN.replace(" AND status = 'posted'", "").replace("-- deleted, or a draft",
                                                                         "-- the whole entry was deleted")

# Monthly locks of 0003, now skipping drafts (a draft may wait in a locked month; posting it may not).
PERIOD_FN = """
CREATE OR REPLACE FUNCTION journal_entry_period_open() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'draft' THEN
        RETURN NEW;
    END IF;
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

OLD_PERIOD_FN = PERIOD_FN.replace("""    IF NEW.status = 'draft' THEN
        RETURN NEW;
    END IF;
""", "")

# The lock date: nothing posted on or before tenant_settings.books_closed_through, whatever the code path.
CLOSED_FN = """
CREATE FUNCTION books_closed_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    closed date;
    d date;
BEGIN
    SELECT books_closed_through INTO closed FROM tenant_settings WHERE id = 1;
    IF closed IS NULL THEN
        RETURN NEW;
    END IF;
    IF TG_TABLE_NAME = 'journal_entries' THEN
        IF NEW.status = 'draft' THEN
            RETURN NEW;
        END IF;
        d := NEW.entry_date;
    ELSE
        d := NEW.posting_date;
    END IF;
    IF d <= closed THEN
        RAISE EXCEPTION 'the books are closed through %', closed USING ERRCODE = '23514';
    END IF;
    RETURN NEW;
END $$;
"""

# A posted entry and its lines are never changed or deleted: a correction is a reversal.
IMMUTABLE_FN = """
CREATE FUNCTION journal_posted_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'journal_entries' THEN
        -- created_by may still go NULL when its user is deleted; nothing that the books show may change.
        IF OLD.status = 'posted' AND (TG_OP = 'DELETE' OR
                (NEW.number, NEW.doc_type, NEW.entry_date, NEW.status, NEW.description, NEW.reference,
                 NEW.source, NEW.reversal_of_id)
                IS DISTINCT FROM (OLD.number, OLD.doc_type, OLD.entry_date, OLD.status, OLD.description,
                                  OLD.reference, OLD.source, OLD.reversal_of_id)) THEN
            RAISE EXCEPTION 'journal entry % is posted: reverse it instead', OLD.number USING ERRCODE = '23514';
        END IF;
    ELSIF EXISTS (SELECT 1 FROM journal_entries WHERE id = OLD.entry_id AND status = 'posted') THEN
        RAISE EXCEPTION 'the lines of a posted journal entry cannot change' USING ERRCODE = '23514';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END $$;
"""


def upgrade() -> None:
    op.add_column('tenant_settings', sa.Column('books_closed_through', sa.Date(), nullable=True))
    op.add_column('tenant_settings', sa.Column('time_zone', sa.String(length=64), server_default='Asia/Jakarta',
                                               nullable=False))

    op.add_column('journal_entries', sa.Column('status', sa.String(length=10), server_default='posted',
                                               nullable=False))
    op.add_column('journal_entries', sa.Column('reversal_of_id', sa.Uuid(), nullable=True))
    op.add_column('journal_entries', sa.Column('draft_lines', postgresql.JSONB(astext_type=sa.Text()),
                                               nullable=True))
    op.create_check_constraint(op.f('ck_journal_entries_status'), 'journal_entries', "status IN ('draft', 'posted')")
    op.create_unique_constraint(op.f('uq_journal_entries_reversal_of_id'), 'journal_entries', ['reversal_of_id'])
    op.create_foreign_key(op.f('fk_journal_entries_reversal_of_id_journal_entries'), 'journal_entries',
                          'journal_entries', ['reversal_of_id'], ['id'])

    # Ledger order of movements: existing ones in the order they were entered.
    op.add_column('stock_movements', sa.Column('seq', sa.BigInteger(), sa.Identity(always=False), nullable=False))
    op.execute("UPDATE stock_movements m SET seq = o.n FROM (SELECT id, row_number() OVER "
               "(ORDER BY moved_at, posting_date, number) AS n FROM stock_movements) o WHERE o.id = m.id")
    op.execute("SELECT setval(pg_get_serial_sequence('stock_movements', 'seq'), "
               "coalesce((SELECT max(seq) FROM stock_movements), 0) + 1, false)")
    op.create_unique_constraint(op.f('uq_stock_movements_seq'), 'stock_movements', ['seq'])
    op.add_column('stock_movements', sa.Column('counter_account', sa.String(length=20), nullable=True))
    op.execute("UPDATE stock_movements m SET counter_account = (SELECT l.account_code FROM journal_lines l "
               "WHERE l.entry_id = m.journal_entry_id AND l.account_code NOT IN ('1141', '1142', '1143') "
               "ORDER BY l.id LIMIT 1) WHERE m.journal_entry_id IS NOT NULL")
    op.create_foreign_key(op.f('fk_stock_movements_counter_account_accounts'), 'stock_movements', 'accounts',
                          ['counter_account'], ['code'])
    op.drop_index('ix_stock_movements_variant_id_posting_date', table_name='stock_movements')
    op.create_index('ix_stock_movements_variant_id_posting_date_seq', 'stock_movements',
                    ['variant_id', 'posting_date', 'seq'], unique=False)

    op.execute(BALANCE_FN)
    op.execute(PERIOD_FN)
    op.execute(CLOSED_FN)
    op.execute(IMMUTABLE_FN)
    op.execute("DROP TRIGGER journal_entries_balance ON journal_entries")
    op.execute("""CREATE CONSTRAINT TRIGGER journal_entries_balance AFTER INSERT OR UPDATE ON journal_entries
                  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION journal_entry_must_balance()""")
    op.execute("""CREATE TRIGGER journal_entries_books_closed BEFORE INSERT OR UPDATE ON journal_entries
                  FOR EACH ROW EXECUTE FUNCTION books_closed_check()""")
    op.execute("""CREATE TRIGGER stock_movements_books_closed BEFORE INSERT OR UPDATE ON stock_movements
                  FOR EACH ROW EXECUTE FUNCTION books_closed_check()""")
    op.execute("""CREATE TRIGGER journal_entries_immutable BEFORE UPDATE OR DELETE ON journal_entries
                  FOR EACH ROW EXECUTE FUNCTION journal_posted_immutable()""")
    op.execute("""CREATE TRIGGER journal_lines_immutable BEFORE UPDATE OR DELETE ON journal_lines
                  FOR EACH ROW EXECUTE FUNCTION journal_posted_immutable()""")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS journal_lines_immutable ON journal_lines")
    op.execute("DROP TRIGGER IF EXISTS journal_entries_immutable ON journal_entries")
    op.execute("DROP TRIGGER IF EXISTS stock_movements_books_closed ON stock_movements")
    op.execute("DROP TRIGGER IF EXISTS journal_entries_books_closed ON journal_entries")
    op.execute("DROP TRIGGER journal_entries_balance ON journal_entries")
    op.execute("""CREATE CONSTRAINT TRIGGER journal_entries_balance AFTER INSERT ON journal_entries
                  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION journal_entry_must_balance()""")
    op.execute("DROP FUNCTION IF EXISTS journal_posted_immutable()")
    op.execute("DROP FUNCTION IF EXISTS books_closed_check()")
    op.execute(OLD_PERIOD_FN)
    op.execute(OLD_BALANCE_FN)
    op.drop_index('ix_stock_movements_variant_id_posting_date_seq', table_name='stock_movements')
    op.create_index('ix_stock_movements_variant_id_posting_date', 'stock_movements', ['variant_id', 'posting_date'],
                    unique=False)
    op.drop_constraint(op.f('fk_stock_movements_counter_account_accounts'), 'stock_movements', type_='foreignkey')
    op.drop_column('stock_movements', 'counter_account')
    op.drop_constraint(op.f('uq_stock_movements_seq'), 'stock_movements', type_='unique')
    op.drop_column('stock_movements', 'seq')

    # Drafts have no place in the older schema.
    op.execute("DELETE FROM journal_entries WHERE status = 'draft'")
    op.drop_constraint(op.f('fk_journal_entries_reversal_of_id_journal_entries'), 'journal_entries',
                       type_='foreignkey')
    op.drop_constraint(op.f('uq_journal_entries_reversal_of_id'), 'journal_entries', type_='unique')
    op.drop_constraint(op.f('ck_journal_entries_status'), 'journal_entries', type_='check')
    op.drop_column('journal_entries', 'draft_lines')
    op.drop_column('journal_entries', 'reversal_of_id')
    op.drop_column('journal_entries', 'status')
    op.drop_column('tenant_settings', 'time_zone')
    op.drop_column('tenant_settings', 'books_closed_through')
