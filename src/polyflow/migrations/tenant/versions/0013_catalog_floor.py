"""products for the floor (types, units, conversions, costing method)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29 19:00:00

Product types `auxiliary` and `service`; costing method, standard cost and reorder quantity; per-product
unit conversions. Existing tenants get the floor's units where missing (KARTON, METER, ...) and, where a
chart exists, the manufacturing accounts; new tenants get both from their seeds.

Scrap stock is valued in 1144 from now on. A tenant that already holds scrap stock keeps that value in 1143
(a migration posts no journals): it stays there until an accountant reclassifies it; the upgrade logs the
amount per tenant so it can be found.
"""

import logging

from alembic import op
import sqlalchemy as sa

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

OLD_TYPES = "product_type IN ('raw_material', 'intermediate', 'packaging', 'wip', 'finished_good', 'scrap')"
TYPES = ("product_type IN ('raw_material', 'intermediate', 'packaging', 'auxiliary', 'wip', 'finished_good', "
         "'scrap', 'service')")
UNITS = [("KG", "Kilogram", "mass"), ("ROLL", "Roll", "package"), ("BAL", "Bal (bale)", "package"),
         ("PCS", "Pieces", "count"), ("ZAK", "Zak (sack)", "package"), ("KARTON", "Karton (carton)", "package"),
         ("METER", "Meter", "length")]
ACCOUNTS = [("1144", "Persediaan Scrap dan Regrind", "asset"), ("2170", "Hutang Upah Borongan", "liability"),
            ("4300", "Pendapatan Jasa Maklon", "revenue"), ("5610", "Selisih Kuantitas Produksi", "expense"),
            ("5620", "Selisih Harga Produksi", "expense"), ("5720", "Biaya Overhead Pabrik Dibebankan", "expense")]
CHECKS = {
    "costing_method": "costing_method IN ('actual', 'standard')",
    "standard_cost": "standard_cost >= 0",
    "standard_cost_given": "costing_method <> 'standard' OR standard_cost IS NOT NULL",
    "reorder_qty": "reorder_qty >= 0",
    "service_unstocked": "product_type <> 'service' OR (min_stock = 0 AND reorder_qty = 0)",
}


def upgrade() -> None:
    op.add_column('products', sa.Column('reorder_qty', sa.Numeric(precision=18, scale=3), server_default='0',
                                        nullable=False))
    op.add_column('products', sa.Column('costing_method', sa.String(length=10), server_default='actual',
                                        nullable=False))
    op.add_column('products', sa.Column('standard_cost', sa.Numeric(precision=18, scale=4), nullable=True))
    op.drop_constraint(op.f('ck_products_product_type'), 'products', type_='check')
    op.create_check_constraint(op.f('ck_products_product_type'), 'products', TYPES)
    for name, condition in CHECKS.items():
        op.create_check_constraint(op.f(f'ck_products_{name}'), 'products', condition)

    op.create_table('product_unit_conversions',
    sa.Column('product_id', sa.Uuid(), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('factor', sa.Numeric(precision=18, scale=6), nullable=False),
    sa.CheckConstraint('factor > 0', name=op.f('ck_product_unit_conversions_factor')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'],
                            name=op.f('fk_product_unit_conversions_product_id_products'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit'], ['units.code'], name=op.f('fk_product_unit_conversions_unit_units')),
    sa.PrimaryKeyConstraint('product_id', 'unit', name=op.f('pk_product_unit_conversions'))
    )

    bind = op.get_bind()
    # A fresh database (a template) has no units and no chart yet: its seeds add them with the rest.
    if bind.execute(sa.text("SELECT EXISTS (SELECT 1 FROM units)")).scalar():
        for code, name, kind in UNITS:
            # A unit a tenant already has under that code is left as it is.
            op.execute(sa.text("INSERT INTO units (code, name, kind) VALUES (:code, :name, :kind) "
                               "ON CONFLICT DO NOTHING").bindparams(code=code, name=name, kind=kind))
    if bind.execute(sa.text("SELECT EXISTS (SELECT 1 FROM accounts)")).scalar():
        for code, name, type_ in ACCOUNTS:
            op.execute(sa.text("INSERT INTO accounts (code, name, type) VALUES (:code, :name, :type) "
                               "ON CONFLICT DO NOTHING").bindparams(code=code, name=name, type=type_))
    held = bind.execute(sa.text(
        "SELECT coalesce(sum(v.stock_value), 0) FROM product_variants v JOIN products p ON p.id = v.product_id "
        "WHERE p.product_type = 'scrap'")).scalar()
    if held:
        logging.getLogger("polyflow.migrations").warning(
            "database %s: scrap stock worth %s is in 1143 (Persediaan Barang Jadi); from revision 0013 scrap is "
            "valued in 1144: reclassify it (Dr 1144 / Cr 1143) or the stock valuation and the ledger differ by it",
            bind.engine.url.database, held)


def downgrade() -> None:
    op.drop_table('product_unit_conversions')
    for name in CHECKS:
        op.drop_constraint(op.f(f'ck_products_{name}'), 'products', type_='check')
    # Fails while auxiliary or service products exist: retyping them is a decision, not a downgrade's.
    op.drop_constraint(op.f('ck_products_product_type'), 'products', type_='check')
    op.create_check_constraint(op.f('ck_products_product_type'), 'products', OLD_TYPES)
    for column in ('standard_cost', 'costing_method', 'reorder_qty'):
        op.drop_column('products', column)
    # The accounts go unless anything posted to them or the tenant had its own under that code (another
    # name); the units stay (reference data a tenant may use).
    for code, name, _ in ACCOUNTS:
        op.execute(sa.text("DELETE FROM accounts a WHERE a.code = :code AND a.name = :name AND NOT EXISTS "
                           "(SELECT 1 FROM journal_lines l WHERE l.account_code = a.code)")
                   .bindparams(code=code, name=name))
