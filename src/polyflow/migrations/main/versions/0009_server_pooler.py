"""database servers: an optional connection pooler (PgBouncer) address for app traffic

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 00:50:00
"""

from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Requests reach tenant databases through the pooler when one is set; admin work (CREATE DATABASE
    # from a template, migrations, pg_dump) keeps going to host:port directly, since a transaction-mode
    # pooler keeps no session state and holds server connections open to template databases.
    op.add_column('database_servers', sa.Column('pooler_host', sa.String(length=255), nullable=True))
    op.add_column('database_servers', sa.Column('pooler_port', sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column('database_servers', 'pooler_port')
    op.drop_column('database_servers', 'pooler_host')
