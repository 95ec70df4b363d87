"""lead times: products.lead_time_days; mrp_proposals.start_by and late

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-29 20:30:00
"""

from alembic import op
import sqlalchemy as sa

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('products', sa.Column('lead_time_days', sa.Integer(), server_default='0', nullable=False))
    op.create_check_constraint(op.f('ck_products_lead_time_days'), 'products',
                               'lead_time_days >= 0 AND lead_time_days <= 365')
    # Proposals of runs before this revision have no start date (NULL); they were never late as far as we know.
    op.add_column('mrp_proposals', sa.Column('start_by', sa.Date(), nullable=True))
    op.add_column('mrp_proposals', sa.Column('late', sa.Boolean(), server_default=sa.text('false'), nullable=False))


def downgrade() -> None:
    op.drop_column('mrp_proposals', 'late')
    op.drop_column('mrp_proposals', 'start_by')
    op.drop_constraint(op.f('ck_products_lead_time_days'), 'products', type_='check')
    op.drop_column('products', 'lead_time_days')
