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
    op.execute("DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers, procrastinate_jobs, "
               "procrastinate_workers CASCADE")
