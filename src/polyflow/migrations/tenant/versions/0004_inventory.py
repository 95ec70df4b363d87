"""inventory: product types and units, variants (every product gets a default one), stock levels, movements

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 14:20:00
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

TYPES = "product_type IN ('raw_material', 'intermediate', 'packaging', 'wip', 'finished_good', 'scrap')"


def upgrade() -> None:
    op.add_column('products', sa.Column('product_type', sa.String(length=20), server_default='finished_good', nullable=False))
    op.add_column('products', sa.Column('sales_unit', sa.String(length=16), nullable=True))
    op.add_column('products', sa.Column('sales_unit_factor', sa.Numeric(precision=18, scale=6), server_default='1', nullable=False))
    op.add_column('products', sa.Column('buy_price', sa.Numeric(precision=18, scale=2), nullable=True))
    op.add_column('products', sa.Column('attributes', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False))
    op.add_column('products', sa.Column('min_stock', sa.Numeric(precision=18, scale=3), server_default='0', nullable=False))
    op.create_check_constraint(op.f('ck_products_product_type'), 'products', TYPES)
    op.create_check_constraint(op.f('ck_products_sales_unit_factor'), 'products', 'sales_unit_factor > 0')
    op.create_check_constraint(op.f('ck_products_min_stock'), 'products', 'min_stock >= 0')

    op.create_table('product_variants',
    sa.Column('product_id', sa.Uuid(), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('is_default', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('attributes', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('buy_price', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('sell_price', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('min_stock', sa.Numeric(precision=18, scale=3), nullable=True),
    sa.Column('is_active', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('qty_total', sa.Numeric(precision=18, scale=3), server_default='0', nullable=False),
    sa.Column('stock_value', sa.Numeric(precision=18, scale=2), server_default='0', nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("sku <> ''", name=op.f('ck_product_variants_sku_not_empty')),
    sa.CheckConstraint('qty_total >= 0', name=op.f('ck_product_variants_qty_total')),
    sa.CheckConstraint('stock_value >= 0', name=op.f('ck_product_variants_stock_value')),
    sa.CheckConstraint('qty_total > 0 OR stock_value = 0', name=op.f('ck_product_variants_no_value_without_stock')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_product_variants_product_id_products'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product_variants')),
    sa.UniqueConstraint('sku', name=op.f('uq_product_variants_sku'))
    )
    op.create_index(op.f('ix_product_variants_product_id'), 'product_variants', ['product_id'], unique=False)
    op.create_index('uq_product_variants_default', 'product_variants', ['product_id'], unique=True,
                    postgresql_where=sa.text('is_default'))
    # Existing products: their SKU becomes their default variant's.
    op.execute("INSERT INTO product_variants (id, product_id, sku, name, is_default, sell_price) "
               "SELECT gen_random_uuid(), id, sku, name, true, sell_price FROM products")

    op.create_table('stock_levels',
    sa.Column('location_id', sa.Uuid(), nullable=False),
    sa.Column('variant_id', sa.Uuid(), nullable=False),
    sa.Column('on_hand', sa.Numeric(precision=18, scale=3), server_default='0', nullable=False),
    sa.Column('reserved', sa.Numeric(precision=18, scale=3), server_default='0', nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('on_hand >= 0', name=op.f('ck_stock_levels_on_hand')),
    sa.CheckConstraint('reserved >= 0 AND reserved <= on_hand', name=op.f('ck_stock_levels_reserved')),
    sa.ForeignKeyConstraint(['location_id'], ['locations.id'], name=op.f('fk_stock_levels_location_id_locations')),
    sa.ForeignKeyConstraint(['variant_id'], ['product_variants.id'], name=op.f('fk_stock_levels_variant_id_product_variants')),
    sa.PrimaryKeyConstraint('location_id', 'variant_id', name=op.f('pk_stock_levels'))
    )
    op.create_index('ix_stock_levels_variant_id', 'stock_levels', ['variant_id'], unique=False)
    op.create_table('stock_movements',
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('variant_id', sa.Uuid(), nullable=False),
    sa.Column('from_location_id', sa.Uuid(), nullable=True),
    sa.Column('to_location_id', sa.Uuid(), nullable=True),
    sa.Column('quantity', sa.Numeric(precision=18, scale=3), nullable=False),
    sa.Column('unit_cost', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('value', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=True),
    sa.Column('reference', sa.String(length=100), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('posting_date', sa.Date(), nullable=False),
    sa.Column('moved_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('journal_entry_id', sa.Uuid(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("kind IN ('IN', 'OUT', 'TRANSFER', 'ADJUSTMENT')", name=op.f('ck_stock_movements_kind')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_stock_movements_quantity')),
    sa.CheckConstraint("(kind = 'IN' AND to_location_id IS NOT NULL AND from_location_id IS NULL)"
                       " OR (kind = 'OUT' AND from_location_id IS NOT NULL AND to_location_id IS NULL)"
                       " OR (kind = 'TRANSFER' AND from_location_id IS NOT NULL AND to_location_id IS NOT NULL"
                       " AND from_location_id <> to_location_id)"
                       " OR (kind = 'ADJUSTMENT' AND (from_location_id IS NULL) <> (to_location_id IS NULL))",
                       name=op.f('ck_stock_movements_locations')),
    sa.ForeignKeyConstraint(['from_location_id'], ['locations.id'], name=op.f('fk_stock_movements_from_location_id_locations')),
    sa.ForeignKeyConstraint(['journal_entry_id'], ['journal_entries.id'], name=op.f('fk_stock_movements_journal_entry_id_journal_entries')),
    sa.ForeignKeyConstraint(['to_location_id'], ['locations.id'], name=op.f('fk_stock_movements_to_location_id_locations')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_stock_movements_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['variant_id'], ['product_variants.id'], name=op.f('fk_stock_movements_variant_id_product_variants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_movements')),
    sa.UniqueConstraint('number', name=op.f('uq_stock_movements_number'))
    )
    op.create_index('ix_stock_movements_variant_id_posting_date', 'stock_movements', ['variant_id', 'posting_date'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_stock_movements_variant_id_posting_date', table_name='stock_movements')
    op.drop_table('stock_movements')
    op.drop_index('ix_stock_levels_variant_id', table_name='stock_levels')
    op.drop_table('stock_levels')
    op.drop_index('uq_product_variants_default', table_name='product_variants', postgresql_where=sa.text('is_default'))
    op.drop_index(op.f('ix_product_variants_product_id'), table_name='product_variants')
    op.drop_table('product_variants')
    op.drop_constraint(op.f('ck_products_min_stock'), 'products', type_='check')
    op.drop_constraint(op.f('ck_products_sales_unit_factor'), 'products', type_='check')
    op.drop_constraint(op.f('ck_products_product_type'), 'products', type_='check')
    for column in ('min_stock', 'attributes', 'buy_price', 'sales_unit_factor', 'sales_unit', 'product_type'):
        op.drop_column('products', column)
