"""fleet migration runs: the runner's host, pid and heartbeat; status 'aborted'

A `polyflow migrate` killed mid-run left its run `running` forever. The run now records where it
runs and keeps a heartbeat, so a run whose process is gone can be recognised and marked `aborted`.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 00:50:00
"""

from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('migration_runs', sa.Column('runner_host', sa.String(length=255), nullable=True))
    op.add_column('migration_runs', sa.Column('runner_pid', sa.Integer(), nullable=True))
    op.add_column('migration_runs', sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True))
    op.drop_constraint(op.f('ck_migration_runs_status'), 'migration_runs', type_='check')
    op.create_check_constraint(op.f('ck_migration_runs_status'), 'migration_runs',
                               "status IN ('running', 'completed', 'failed', 'halted', 'aborted')")


def downgrade() -> None:
    op.execute("UPDATE migration_runs SET status = 'failed' WHERE status = 'aborted'")
    op.drop_constraint(op.f('ck_migration_runs_status'), 'migration_runs', type_='check')
    op.create_check_constraint(op.f('ck_migration_runs_status'), 'migration_runs',
                               "status IN ('running', 'completed', 'failed', 'halted')")
    op.drop_column('migration_runs', 'heartbeat_at')
    op.drop_column('migration_runs', 'runner_pid')
    op.drop_column('migration_runs', 'runner_host')
