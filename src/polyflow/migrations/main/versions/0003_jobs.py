"""job queue: procrastinate's schema in the main database

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 13:10:00
"""

from alembic import context, op
from procrastinate.schema import SchemaManager
from sqlalchemy.util import await_only

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    sql = SchemaManager.get_schema()
    if context.is_offline_mode():
        op.execute(sql)
        return
    # The schema is many statements with $$-quoted bodies: send it as one simple-protocol script on
    # the driver connection (inside the migration's transaction).
    driver = op.get_bind().connection.driver_connection
    await_only(driver.execute(sql))


def downgrade() -> None:
    # Everything procrastinate's schema created is named procrastinate_*: tables, functions, types.
    op.execute("""
    DO $$ DECLARE r record; BEGIN
      FOR r IN SELECT tablename FROM pg_tables
               WHERE schemaname = 'public' AND tablename LIKE 'procrastinate\\_%' LOOP
        EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', r.tablename);
      END LOOP;
      FOR r IN SELECT p.oid::regprocedure AS sig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
               WHERE n.nspname = 'public' AND p.proname LIKE 'procrastinate\\_%' LOOP
        EXECUTE 'DROP FUNCTION IF EXISTS ' || r.sig || ' CASCADE';
      END LOOP;
      FOR r IN SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
               WHERE n.nspname = 'public' AND t.typname LIKE 'procrastinate\\_%' AND t.typtype IN ('e', 'd', 'c') LOOP
        EXECUTE format('DROP TYPE IF EXISTS %I CASCADE', r.typname);
      END LOOP;
    END $$;
    """)
