"""partners (customers, suppliers) with their prices, tax codes, the company tax profile

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 16:45:00

Existing tenants also get the two prepaid-tax accounts, the standard Indonesian tax codes and an empty
company tax profile; new tenants get the same from the template's seeds (erp/tax/seeds.py), kept here
as literal rows so that this revision never changes with the code.
"""

from datetime import date

from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

ACCOUNTS = [
    {"code": "1171", "name": "PPh 23 Dibayar Dimuka", "type": "asset"},
    {"code": "1172", "name": "PPh 22 Dibayar Dimuka", "type": "asset"},
]
_PPN_11, _PPN_12, _END_11 = date(2022, 4, 1), date(2025, 1, 1), date(2024, 12, 31)
TAX_CODES = [
    ("PPN", "PPN Keluaran 11%", "ppn_output", "11", "full", _PPN_11, _END_11, "2130", None),
    ("PPN", "PPN Keluaran 12% (DPP nilai lain 11/12)", "ppn_output", "12", "dpp_11_12", _PPN_12, None, "2130", None),
    ("PPN-IN", "PPN Masukan 11%", "ppn_input", "11", "full", _PPN_11, _END_11, None, "1150"),
    ("PPN-IN", "PPN Masukan 12% (DPP nilai lain 11/12)", "ppn_input", "12", "dpp_11_12", _PPN_12, None, None, "1150"),
    ("PPN-LUX", "PPN Keluaran 12% (barang mewah, DPP penuh)", "ppn_output", "12", "full", _PPN_12, None, "2130", None),
    ("PPN-LUX-IN", "PPN Masukan 12% (barang mewah, DPP penuh)", "ppn_input", "12", "full", _PPN_12, None, None, "1150"),
    ("PPN-EXPORT", "PPN 0% (ekspor)", "zero_rated", "0", "full", _PPN_11, None, "2130", None),
    ("PPN-EXEMPT", "PPN dibebaskan", "exempt", "0", "full", _PPN_11, None, None, None),
    ("PPN-NC", "PPN tidak dipungut", "not_collected", "0", "full", _PPN_11, None, None, None),
    ("PPH23", "PPh 23 2% (jasa)", "pph23", "2", "full", date(2009, 1, 1), None, "1171", "2140"),
    ("PPH22-IMPORT", "PPh 22 impor 2.5% (API)", "pph22", "2.5", "full", date(2017, 3, 1), None, None, "1172"),
    ("PPH22", "PPh 22 1.5% (dipungut pembeli pemerintah/BUMN)", "pph22", "1.5", "full", date(2017, 3, 1), None, "1172",
     None),
]


def upgrade() -> None:
    op.create_table('partners',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('is_customer', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('is_supplier', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('entity_type', sa.String(length=12), server_default='company', nullable=False),
    sa.Column('npwp', sa.String(length=16), nullable=True),
    sa.Column('nik', sa.String(length=16), nullable=True),
    sa.Column('nitku', sa.String(length=22), nullable=True),
    sa.Column('is_pkp', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('city', sa.String(length=100), nullable=True),
    sa.Column('phone', sa.String(length=50), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('payment_terms_days', sa.Integer(), server_default='0', nullable=False),
    sa.Column('credit_limit', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('is_active', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("code <> ''", name=op.f('ck_partners_code_not_empty')),
    sa.CheckConstraint('is_customer OR is_supplier', name=op.f('ck_partners_customer_or_supplier')),
    sa.CheckConstraint("entity_type IN ('company', 'individual')", name=op.f('ck_partners_entity_type')),
    sa.CheckConstraint("npwp ~ '^[0-9]{16}$'", name=op.f('ck_partners_npwp_format')),
    sa.CheckConstraint("nik ~ '^[0-9]{16}$'", name=op.f('ck_partners_nik_format')),
    sa.CheckConstraint("nitku ~ '^[0-9]{22}$'", name=op.f('ck_partners_nitku_format')),
    sa.CheckConstraint('payment_terms_days >= 0 AND payment_terms_days <= 3650', name=op.f('ck_partners_payment_terms')),
    sa.CheckConstraint('credit_limit >= 0 AND credit_limit = trunc(credit_limit)', name=op.f('ck_partners_credit_limit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partners')),
    sa.UniqueConstraint('code', name=op.f('uq_partners_code'))
    )
    op.create_index('ix_partners_npwp', 'partners', ['npwp'], unique=False)
    op.create_index('ix_partners_name', 'partners', ['name'], unique=False)

    op.create_table('partner_prices',
    sa.Column('partner_id', sa.Uuid(), nullable=False),
    sa.Column('variant_id', sa.Uuid(), nullable=False),
    sa.Column('side', sa.String(length=8), nullable=False),
    sa.Column('price', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('effective_to', sa.Date(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("side IN ('sale', 'purchase')", name=op.f('ck_partner_prices_side')),
    sa.CheckConstraint('price >= 0', name=op.f('ck_partner_prices_price')),
    sa.CheckConstraint('effective_to IS NULL OR effective_to >= effective_from',
                       name=op.f('ck_partner_prices_effective_range')),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_partner_prices_partner_id_partners'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['variant_id'], ['product_variants.id'],
                            name=op.f('fk_partner_prices_variant_id_product_variants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partner_prices')),
    sa.UniqueConstraint('partner_id', 'variant_id', 'side', 'effective_from',
                        name='uq_partner_prices_partner_variant_side_from')
    )
    op.create_index(op.f('ix_partner_prices_variant_id'), 'partner_prices', ['variant_id'], unique=False)

    op.create_table('tax_codes',
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('rate', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('base_rule', sa.String(length=12), server_default='full', nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('effective_to', sa.Date(), nullable=True),
    sa.Column('sales_account', sa.String(length=20), nullable=True),
    sa.Column('purchase_account', sa.String(length=20), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('is_active', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("code ~ '^[A-Z0-9][A-Z0-9._-]*$'", name=op.f('ck_tax_codes_code_format')),
    sa.CheckConstraint("kind IN ('ppn_output', 'ppn_input', 'pph23', 'pph22', 'exempt', 'zero_rated', 'not_collected')",
                       name=op.f('ck_tax_codes_kind')),
    sa.CheckConstraint("base_rule IN ('full', 'dpp_11_12')", name=op.f('ck_tax_codes_base_rule')),
    sa.CheckConstraint('rate >= 0 AND rate <= 100', name=op.f('ck_tax_codes_rate')),
    sa.CheckConstraint("rate = 0 OR NOT (kind IN ('exempt', 'zero_rated', 'not_collected'))",
                       name=op.f('ck_tax_codes_zero_kinds_have_no_rate')),
    sa.CheckConstraint('effective_to IS NULL OR effective_to >= effective_from', name=op.f('ck_tax_codes_effective_range')),
    sa.ForeignKeyConstraint(['purchase_account'], ['accounts.code'], name=op.f('fk_tax_codes_purchase_account_accounts'),
                            onupdate='CASCADE'),
    sa.ForeignKeyConstraint(['sales_account'], ['accounts.code'], name=op.f('fk_tax_codes_sales_account_accounts'),
                            onupdate='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tax_codes')),
    sa.UniqueConstraint('code', 'effective_from', name='uq_tax_codes_code_effective_from')
    )
    op.create_index(op.f('ix_tax_codes_code'), 'tax_codes', ['code'], unique=False)

    op.create_table('company_tax_profile',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('legal_name', sa.String(length=200), server_default='', nullable=False),
    sa.Column('npwp', sa.String(length=16), nullable=True),
    sa.Column('nitku', sa.String(length=22), nullable=True),
    sa.Column('is_pkp', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('pkp_since', sa.Date(), nullable=True),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('tax_office', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_company_tax_profile_single_row')),
    sa.CheckConstraint("npwp ~ '^[0-9]{16}$'", name=op.f('ck_company_tax_profile_npwp_format')),
    sa.CheckConstraint("nitku ~ '^[0-9]{22}$'", name=op.f('ck_company_tax_profile_nitku_format')),
    sa.CheckConstraint('NOT is_pkp OR (npwp IS NOT NULL AND nitku IS NOT NULL)',
                       name=op.f('ck_company_tax_profile_pkp_has_npwp')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_company_tax_profile'))
    )

    op.execute(sa.text("INSERT INTO company_tax_profile (id) VALUES (1) ON CONFLICT DO NOTHING"))
    # Reference rows for tenants that already exist. A fresh database (a template) has no chart yet: its
    # reference seeds add the chart, then these accounts and codes (erp/tax/seeds.py).
    if not op.get_bind().execute(sa.text("SELECT EXISTS (SELECT 1 FROM accounts)")).scalar():
        return
    for row in ACCOUNTS:
        # An account a tenant already created under that code is left as it is.
        op.execute(sa.text("INSERT INTO accounts (code, name, type) VALUES (:code, :name, :type) "
                           "ON CONFLICT DO NOTHING").bindparams(**row))
    for code, name, kind, rate, rule, start, end, sales, purchase in TAX_CODES:
        # The subselects leave an account out (NULL) rather than fail should a tenant's chart lack it.
        op.execute(sa.text(
            "INSERT INTO tax_codes (id, code, name, kind, rate, base_rule, effective_from, effective_to, "
            "sales_account, purchase_account) SELECT gen_random_uuid(), :code, :name, :kind, CAST(:rate AS numeric), "
            ":rule, :start, :end, "
            "(SELECT code FROM accounts WHERE code = :sales), (SELECT code FROM accounts WHERE code = :purchase) "
            "ON CONFLICT DO NOTHING"
        ).bindparams(sa.bindparam('start', type_=sa.Date), sa.bindparam('end', type_=sa.Date),
                     code=code, name=name, kind=kind, rate=rate, rule=rule, start=start, end=end, sales=sales,
                     purchase=purchase))


def downgrade() -> None:
    op.drop_table('company_tax_profile')
    op.drop_index(op.f('ix_tax_codes_code'), table_name='tax_codes')
    op.drop_table('tax_codes')
    op.drop_index(op.f('ix_partner_prices_variant_id'), table_name='partner_prices')
    op.drop_table('partner_prices')
    op.drop_index('ix_partners_name', table_name='partners')
    op.drop_index('ix_partners_npwp', table_name='partners')
    op.drop_table('partners')
    # The two accounts stay if anything posted to them; otherwise they go with the revision.
    op.execute(sa.text("DELETE FROM accounts a WHERE a.code IN ('1171', '1172') AND NOT EXISTS "
                       "(SELECT 1 FROM journal_lines l WHERE l.account_code = a.code)"))
