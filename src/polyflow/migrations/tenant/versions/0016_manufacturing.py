"""manufacturing: machines, shifts, operators, piece rates, BOMs, routes, production runs and orders,
material issues, shop-floor executions, the orders' WIP sub-ledger, lots, lot consumptions, inspections;
location kind `quarantine` (stock there is not available).

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-29 19:00:00
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

OLD_KINDS = "kind IN ('warehouse', 'production', 'scrap', 'transit')"
NEW_KINDS = "kind IN ('warehouse', 'production', 'scrap', 'transit', 'quarantine')"


def upgrade() -> None:
    op.create_table('machines',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('machine_type', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=12), server_default='active', nullable=False),
    sa.Column('location_id', sa.Uuid(), nullable=True),
    sa.Column('overhead_rate', sa.Numeric(precision=18, scale=2), server_default='0', nullable=False),
    sa.Column('overhead_basis', sa.String(length=8), server_default='hour', nullable=False),
    sa.Column('rated_capacity', sa.Numeric(precision=18, scale=3), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("code <> ''", name=op.f('ck_machines_code_not_empty')),
    sa.CheckConstraint("machine_type IN ('mixer', 'extruder', 'loom', 'laminator', 'printer', 'cutting_sewing', 'packer', 'granulator')", name=op.f('ck_machines_machine_type')),
    sa.CheckConstraint("overhead_basis IN ('hour', 'kg')", name=op.f('ck_machines_overhead_basis')),
    sa.CheckConstraint("status IN ('active', 'maintenance', 'breakdown', 'retired')", name=op.f('ck_machines_status')),
    sa.CheckConstraint('overhead_rate >= 0', name=op.f('ck_machines_overhead_rate')),
    sa.ForeignKeyConstraint(['location_id'], ['locations.id'], name=op.f('fk_machines_location_id_locations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_machines')),
    sa.UniqueConstraint('code', name=op.f('uq_machines_code'))
    )
    op.create_table('shifts',
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('starts_at', sa.Time(), nullable=False),
    sa.Column('ends_at', sa.Time(), nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("code <> ''", name=op.f('ck_shifts_code_not_empty')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shifts')),
    sa.UniqueConstraint('code', name=op.f('uq_shifts_code'))
    )
    op.create_table('operators',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('is_active', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("code <> ''", name=op.f('ck_operators_code_not_empty')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_operators_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operators')),
    sa.UniqueConstraint('code', name=op.f('uq_operators_code'))
    )
    op.create_table('piece_rates',
    sa.Column('stage', sa.String(length=20), nullable=False),
    sa.Column('product_id', sa.Uuid(), nullable=True),
    sa.Column('rate', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("stage IN ('mixing', 'extrusion', 'weaving', 'lamination', 'printing', 'cutting_sewing', 'packing', 'rework', 'granulating')", name=op.f('ck_piece_rates_stage')),
    sa.CheckConstraint('rate >= 0', name=op.f('ck_piece_rates_rate')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_piece_rates_product_id_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_piece_rates')),
    sa.UniqueConstraint('stage', 'product_id', 'valid_from', name='uq_piece_rates_stage_product_from')
    )
    op.create_table('boms',
    sa.Column('product_id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('stage', sa.String(length=20), nullable=False),
    sa.Column('output_quantity', sa.Numeric(precision=18, scale=3), server_default='1', nullable=False),
    sa.Column('expected_scrap_pct', sa.Numeric(precision=5, scale=2), server_default='0', nullable=False),
    sa.Column('max_regrind_pct', sa.Numeric(precision=5, scale=2), nullable=True),
    sa.Column('is_active', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('is_default', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("stage IN ('mixing', 'extrusion', 'weaving', 'lamination', 'printing', 'cutting_sewing', 'packing', 'rework', 'granulating')", name=op.f('ck_boms_stage')),
    sa.CheckConstraint('expected_scrap_pct >= 0 AND expected_scrap_pct < 100', name=op.f('ck_boms_expected_scrap_pct')),
    sa.CheckConstraint('max_regrind_pct IS NULL OR (max_regrind_pct >= 0 AND max_regrind_pct <= 100)', name=op.f('ck_boms_max_regrind_pct')),
    sa.CheckConstraint('output_quantity > 0', name=op.f('ck_boms_output_quantity')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_boms_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_boms_product_id_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_boms')),
    sa.UniqueConstraint('product_id', 'version', name='uq_boms_product_id_version')
    )
    op.create_index('uq_boms_default', 'boms', ['product_id'], unique=True, postgresql_where=sa.text('is_default'))
    op.create_table('bom_lines',
    sa.Column('bom_id', sa.Uuid(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('variant_id', sa.Uuid(), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=18, scale=6), nullable=False),
    sa.Column('is_regrind', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_bom_lines_quantity')),
    sa.ForeignKeyConstraint(['bom_id'], ['boms.id'], name=op.f('fk_bom_lines_bom_id_boms'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['variant_id'], ['product_variants.id'], name=op.f('fk_bom_lines_variant_id_product_variants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bom_lines')),
    sa.UniqueConstraint('bom_id', 'line_no', name='uq_bom_lines_bom_id_line_no')
    )
    op.create_index(op.f('ix_bom_lines_variant_id'), 'bom_lines', ['variant_id'], unique=False)
    op.create_index(op.f('ix_bom_lines_bom_id'), 'bom_lines', ['bom_id'], unique=False)
    op.create_table('routes',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('product_id', sa.Uuid(), nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('is_default', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("code <> ''", name=op.f('ck_routes_code_not_empty')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_routes_product_id_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routes')),
    sa.UniqueConstraint('code', name=op.f('uq_routes_code'))
    )
    op.create_index(op.f('ix_routes_product_id'), 'routes', ['product_id'], unique=False)
    op.create_index('uq_routes_default', 'routes', ['product_id'], unique=True, postgresql_where=sa.text('is_default'))
    op.create_table('route_steps',
    sa.Column('route_id', sa.Uuid(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('output_variant_id', sa.Uuid(), nullable=False),
    sa.Column('bom_id', sa.Uuid(), nullable=True),
    sa.Column('std_rate', sa.Numeric(precision=18, scale=3), nullable=False),
    sa.Column('rate_unit', sa.String(length=16), server_default='kg_per_hour', nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("rate_unit IN ('kg_per_hour', 'pcs_per_hour', 'm_per_hour')", name=op.f('ck_route_steps_rate_unit')),
    sa.CheckConstraint("stage IN ('mixing', 'extrusion', 'weaving', 'lamination', 'printing', 'cutting_sewing', 'packing', 'rework', 'granulating')", name=op.f('ck_route_steps_stage')),
    sa.CheckConstraint('std_rate > 0', name=op.f('ck_route_steps_std_rate')),
    sa.ForeignKeyConstraint(['bom_id'], ['boms.id'], name=op.f('fk_route_steps_bom_id_boms')),
    sa.ForeignKeyConstraint(['output_variant_id'], ['product_variants.id'], name=op.f('fk_route_steps_output_variant_id_product_variants')),
    sa.ForeignKeyConstraint(['route_id'], ['routes.id'], name=op.f('fk_route_steps_route_id_routes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_route_steps')),
    sa.UniqueConstraint('route_id', 'seq', name='uq_route_steps_route_id_seq')
    )
    op.create_index(op.f('ix_route_steps_route_id'), 'route_steps', ['route_id'], unique=False)
    op.create_table('route_step_machines',
    sa.Column('step_id', sa.Uuid(), nullable=False),
    sa.Column('machine_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['machine_id'], ['machines.id'], name=op.f('fk_route_step_machines_machine_id_machines')),
    sa.ForeignKeyConstraint(['step_id'], ['route_steps.id'], name=op.f('fk_route_step_machines_step_id_route_steps'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('step_id', 'machine_id', name=op.f('pk_route_step_machines'))
    )
    op.create_table('machine_downtimes',
    sa.Column('machine_id', sa.Uuid(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('shift_id', sa.Uuid(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("reason IN ('breakdown', 'changeover', 'maintenance', 'no_material', 'no_operator', 'power', 'quality', 'other')", name=op.f('ck_machine_downtimes_reason')),
    sa.CheckConstraint('ended_at IS NULL OR ended_at > started_at', name=op.f('ck_machine_downtimes_period')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_machine_downtimes_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['machine_id'], ['machines.id'], name=op.f('fk_machine_downtimes_machine_id_machines')),
    sa.ForeignKeyConstraint(['shift_id'], ['shifts.id'], name=op.f('fk_machine_downtimes_shift_id_shifts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_machine_downtimes'))
    )
    op.create_index('ix_machine_downtimes_machine_id_started_at', 'machine_downtimes', ['machine_id', 'started_at'], unique=False)
    op.create_table('production_runs',
    sa.Column('number', sa.String(length=32), nullable=True),
    sa.Column('status', sa.String(length=12), server_default='draft', nullable=False),
    sa.Column('priority', sa.String(length=8), server_default='normal', nullable=False),
    sa.Column('variant_id', sa.Uuid(), nullable=False),
    sa.Column('route_id', sa.Uuid(), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=18, scale=3), nullable=False),
    sa.Column('planned_start', sa.Date(), nullable=True),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('sales_order_line_id', sa.Uuid(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("priority IN ('low', 'normal', 'high', 'urgent')", name=op.f('ck_production_runs_priority')),
    sa.CheckConstraint("status IN ('draft', 'released', 'in_progress', 'completed', 'cancelled')", name=op.f('ck_production_runs_status')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_production_runs_quantity')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_production_runs_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['route_id'], ['routes.id'], name=op.f('fk_production_runs_route_id_routes')),
    sa.ForeignKeyConstraint(['sales_order_line_id'], ['sales_order_lines.id'], name=op.f('fk_production_runs_sales_order_line_id_sales_order_lines')),
    sa.ForeignKeyConstraint(['variant_id'], ['product_variants.id'], name=op.f('fk_production_runs_variant_id_product_variants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_production_runs')),
    sa.UniqueConstraint('number', name=op.f('uq_production_runs_number'))
    )
    op.create_index(op.f('ix_production_runs_variant_id'), 'production_runs', ['variant_id'], unique=False)
    op.create_index(op.f('ix_production_runs_sales_order_line_id'), 'production_runs', ['sales_order_line_id'], unique=False)
    op.create_table('production_orders',
    sa.Column('number', sa.String(length=32), nullable=True),
    sa.Column('run_id', sa.Uuid(), nullable=True),
    sa.Column('step_seq', sa.Integer(), server_default='1', nullable=False),
    sa.Column('input_order_id', sa.Uuid(), nullable=True),
    sa.Column('status', sa.String(length=12), server_default='draft', nullable=False),
    sa.Column('priority', sa.String(length=8), server_default='normal', nullable=False),
    sa.Column('stage', sa.String(length=20), nullable=False),
    sa.Column('variant_id', sa.Uuid(), nullable=False),
    sa.Column('bom_id', sa.Uuid(), nullable=True),
    sa.Column('route_step_id', sa.Uuid(), nullable=True),
    sa.Column('machine_id', sa.Uuid(), nullable=True),
    sa.Column('quantity', sa.Numeric(precision=18, scale=3), nullable=False),
    sa.Column('qty_output', sa.Numeric(precision=18, scale=3), server_default='0', nullable=False),
    sa.Column('qty_scrap', sa.Numeric(precision=18, scale=3), server_default='0', nullable=False),
    sa.Column('source_location_id', sa.Uuid(), nullable=False),
    sa.Column('output_location_id', sa.Uuid(), nullable=False),
    sa.Column('planned_start', sa.Date(), nullable=True),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('sales_order_line_id', sa.Uuid(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("priority IN ('low', 'normal', 'high', 'urgent')", name=op.f('ck_production_orders_priority')),
    sa.CheckConstraint("stage IN ('mixing', 'extrusion', 'weaving', 'lamination', 'printing', 'cutting_sewing', 'packing', 'rework', 'granulating')", name=op.f('ck_production_orders_stage')),
    sa.CheckConstraint("status IN ('draft', 'released', 'in_progress', 'completed', 'cancelled')", name=op.f('ck_production_orders_status')),
    sa.CheckConstraint('qty_output >= 0 AND qty_scrap >= 0', name=op.f('ck_production_orders_produced')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_production_orders_quantity')),
    sa.ForeignKeyConstraint(['bom_id'], ['boms.id'], name=op.f('fk_production_orders_bom_id_boms')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_production_orders_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['input_order_id'], ['production_orders.id'], name=op.f('fk_production_orders_input_order_id_production_orders')),
    sa.ForeignKeyConstraint(['machine_id'], ['machines.id'], name=op.f('fk_production_orders_machine_id_machines')),
    sa.ForeignKeyConstraint(['output_location_id'], ['locations.id'], name=op.f('fk_production_orders_output_location_id_locations')),
    sa.ForeignKeyConstraint(['route_step_id'], ['route_steps.id'], name=op.f('fk_production_orders_route_step_id_route_steps')),
    sa.ForeignKeyConstraint(['run_id'], ['production_runs.id'], name=op.f('fk_production_orders_run_id_production_runs')),
    sa.ForeignKeyConstraint(['sales_order_line_id'], ['sales_order_lines.id'], name=op.f('fk_production_orders_sales_order_line_id_sales_order_lines')),
    sa.ForeignKeyConstraint(['source_location_id'], ['locations.id'], name=op.f('fk_production_orders_source_location_id_locations')),
    sa.ForeignKeyConstraint(['variant_id'], ['product_variants.id'], name=op.f('fk_production_orders_variant_id_product_variants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_production_orders')),
    sa.UniqueConstraint('number', name=op.f('uq_production_orders_number'))
    )
    op.create_index(op.f('ix_production_orders_variant_id'), 'production_orders', ['variant_id'], unique=False)
    op.create_index(op.f('ix_production_orders_run_id'), 'production_orders', ['run_id'], unique=False)
    op.create_index('ix_production_orders_status', 'production_orders', ['status'], unique=False)
    op.create_table('production_order_materials',
    sa.Column('order_id', sa.Uuid(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('variant_id', sa.Uuid(), nullable=False),
    sa.Column('qty_per_unit', sa.Numeric(precision=18, scale=6), nullable=False),
    sa.Column('is_regrind', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('planned_qty', sa.Numeric(precision=18, scale=3), nullable=False),
    sa.Column('reserved_qty', sa.Numeric(precision=18, scale=3), server_default='0', nullable=False),
    sa.Column('issued_qty', sa.Numeric(precision=18, scale=3), server_default='0', nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('planned_qty >= 0 AND reserved_qty >= 0 AND issued_qty >= 0', name=op.f('ck_production_order_materials_quantities')),
    sa.ForeignKeyConstraint(['order_id'], ['production_orders.id'], name=op.f('fk_production_order_materials_order_id_production_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['variant_id'], ['product_variants.id'], name=op.f('fk_production_order_materials_variant_id_product_variants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_production_order_materials')),
    sa.UniqueConstraint('order_id', 'variant_id', name='uq_production_order_materials_order_variant')
    )
    op.create_index(op.f('ix_production_order_materials_variant_id'), 'production_order_materials', ['variant_id'], unique=False)
    op.create_index(op.f('ix_production_order_materials_order_id'), 'production_order_materials', ['order_id'], unique=False)
    op.create_table('production_executions',
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('order_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=8), server_default='posted', nullable=False),
    sa.Column('variant_id', sa.Uuid(), nullable=False),
    sa.Column('scrap_kind', sa.String(length=10), nullable=True),
    sa.Column('machine_id', sa.Uuid(), nullable=True),
    sa.Column('operator_id', sa.Uuid(), nullable=True),
    sa.Column('shift_id', sa.Uuid(), nullable=True),
    sa.Column('work_date', sa.Date(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('hours', sa.Numeric(precision=10, scale=3), nullable=True),
    sa.Column('gross_weight', sa.Numeric(precision=18, scale=3), nullable=True),
    sa.Column('core_weight', sa.Numeric(precision=18, scale=3), nullable=True),
    sa.Column('quantity', sa.Numeric(precision=18, scale=3), nullable=False),
    sa.Column('pieces', sa.Integer(), nullable=True),
    sa.Column('unit_cost', sa.Numeric(precision=18, scale=4), server_default='0', nullable=False),
    sa.Column('value', sa.Numeric(precision=18, scale=2), server_default='0', nullable=False),
    sa.Column('labour_amount', sa.Numeric(precision=18, scale=2), server_default='0', nullable=False),
    sa.Column('overhead_amount', sa.Numeric(precision=18, scale=2), server_default='0', nullable=False),
    sa.Column('piece_rate', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('movement_id', sa.Uuid(), nullable=True),
    sa.Column('journal_entry_id', sa.Uuid(), nullable=True),
    sa.Column('lot_id', sa.Uuid(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('voided_by', sa.Uuid(), nullable=True),
    sa.Column('void_reason', sa.String(length=500), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("(kind = 'scrap') = (scrap_kind IS NOT NULL)", name=op.f('ck_production_executions_scrap_has_kind')),
    sa.CheckConstraint("kind IN ('output', 'scrap')", name=op.f('ck_production_executions_kind')),
    sa.CheckConstraint("scrap_kind IS NULL OR scrap_kind IN ('daun', 'prongkol', 'off_spec', 'other')", name=op.f('ck_production_executions_scrap_kind')),
    sa.CheckConstraint("status IN ('posted', 'voided')", name=op.f('ck_production_executions_status')),
    sa.CheckConstraint('gross_weight IS NULL OR core_weight IS NULL OR gross_weight > core_weight', name=op.f('ck_production_executions_weights')),
    sa.CheckConstraint('hours IS NULL OR hours >= 0', name=op.f('ck_production_executions_hours')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_production_executions_quantity')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_production_executions_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['journal_entry_id'], ['journal_entries.id'], name=op.f('fk_production_executions_journal_entry_id_journal_entries')),
    sa.ForeignKeyConstraint(['machine_id'], ['machines.id'], name=op.f('fk_production_executions_machine_id_machines')),
    sa.ForeignKeyConstraint(['movement_id'], ['stock_movements.id'], name=op.f('fk_production_executions_movement_id_stock_movements')),
    sa.ForeignKeyConstraint(['operator_id'], ['operators.id'], name=op.f('fk_production_executions_operator_id_operators')),
    sa.ForeignKeyConstraint(['order_id'], ['production_orders.id'], name=op.f('fk_production_executions_order_id_production_orders')),
    sa.ForeignKeyConstraint(['shift_id'], ['shifts.id'], name=op.f('fk_production_executions_shift_id_shifts')),
    sa.ForeignKeyConstraint(['variant_id'], ['product_variants.id'], name=op.f('fk_production_executions_variant_id_product_variants')),
    sa.ForeignKeyConstraint(['voided_by'], ['users.id'], name=op.f('fk_production_executions_voided_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_production_executions')),
    sa.UniqueConstraint('number', name=op.f('uq_production_executions_number'))
    )
    op.create_index('ix_production_executions_work_date', 'production_executions', ['work_date'], unique=False)
    op.create_index(op.f('ix_production_executions_operator_id'), 'production_executions', ['operator_id'], unique=False)
    op.create_index('ix_production_executions_machine_id_work_date', 'production_executions', ['machine_id', 'work_date'], unique=False)
    op.create_index(op.f('ix_production_executions_order_id'), 'production_executions', ['order_id'], unique=False)
    op.create_table('lots',
    sa.Column('number', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=12), server_default='available', nullable=False),
    sa.Column('variant_id', sa.Uuid(), nullable=False),
    sa.Column('location_id', sa.Uuid(), nullable=True),
    sa.Column('quantity', sa.Numeric(precision=18, scale=3), nullable=False),
    sa.Column('remaining', sa.Numeric(precision=18, scale=3), nullable=False),
    sa.Column('gross_weight', sa.Numeric(precision=18, scale=3), nullable=True),
    sa.Column('core_weight', sa.Numeric(precision=18, scale=3), nullable=True),
    sa.Column('net_weight', sa.Numeric(precision=18, scale=3), nullable=True),
    sa.Column('pieces', sa.Integer(), nullable=True),
    sa.Column('supplier_lot_no', sa.String(length=64), nullable=True),
    sa.Column('partner_id', sa.Uuid(), nullable=True),
    sa.Column('goods_receipt_line_id', sa.Uuid(), nullable=True),
    sa.Column('execution_id', sa.Uuid(), nullable=True),
    sa.Column('produced_on', sa.Date(), nullable=True),
    sa.Column('attributes', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind IN ('supplier', 'roll', 'bale', 'batch', 'regrind')", name=op.f('ck_lots_kind')),
    sa.CheckConstraint("status IN ('available', 'quarantine', 'rejected', 'consumed', 'voided')", name=op.f('ck_lots_status')),
    sa.CheckConstraint('quantity > 0 AND remaining >= 0 AND remaining <= quantity', name=op.f('ck_lots_quantities')),
    sa.ForeignKeyConstraint(['execution_id'], ['production_executions.id'], name=op.f('fk_lots_execution_id_production_executions')),
    sa.ForeignKeyConstraint(['goods_receipt_line_id'], ['goods_receipt_lines.id'], name=op.f('fk_lots_goods_receipt_line_id_goods_receipt_lines')),
    sa.ForeignKeyConstraint(['location_id'], ['locations.id'], name=op.f('fk_lots_location_id_locations')),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_lots_partner_id_partners')),
    sa.ForeignKeyConstraint(['variant_id'], ['product_variants.id'], name=op.f('fk_lots_variant_id_product_variants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lots')),
    sa.UniqueConstraint('number', name=op.f('uq_lots_number'))
    )
    op.create_index(op.f('ix_lots_execution_id'), 'lots', ['execution_id'], unique=False)
    op.create_index('ix_lots_variant_id_status', 'lots', ['variant_id', 'status'], unique=False)
    op.create_index('ix_lots_supplier_lot_no', 'lots', ['supplier_lot_no'], unique=False)
    op.create_index(op.f('ix_lots_goods_receipt_line_id'), 'lots', ['goods_receipt_line_id'], unique=False)
    op.create_table('production_issues',
    sa.Column('order_id', sa.Uuid(), nullable=False),
    sa.Column('variant_id', sa.Uuid(), nullable=False),
    sa.Column('location_id', sa.Uuid(), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=18, scale=3), nullable=False),
    sa.Column('movement_id', sa.Uuid(), nullable=False),
    sa.Column('lot_id', sa.Uuid(), nullable=True),
    sa.Column('execution_id', sa.Uuid(), nullable=True),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('quantity <> 0', name=op.f('ck_production_issues_quantity')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_production_issues_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['execution_id'], ['production_executions.id'], name=op.f('fk_production_issues_execution_id_production_executions')),
    sa.ForeignKeyConstraint(['location_id'], ['locations.id'], name=op.f('fk_production_issues_location_id_locations')),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_production_issues_lot_id_lots')),
    sa.ForeignKeyConstraint(['movement_id'], ['stock_movements.id'], name=op.f('fk_production_issues_movement_id_stock_movements')),
    sa.ForeignKeyConstraint(['order_id'], ['production_orders.id'], name=op.f('fk_production_issues_order_id_production_orders')),
    sa.ForeignKeyConstraint(['variant_id'], ['product_variants.id'], name=op.f('fk_production_issues_variant_id_product_variants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_production_issues'))
    )
    op.create_index(op.f('ix_production_issues_order_id'), 'production_issues', ['order_id'], unique=False)
    op.create_index(op.f('ix_production_issues_lot_id'), 'production_issues', ['lot_id'], unique=False)
    op.create_table('production_costs',
    sa.Column('order_id', sa.Uuid(), nullable=False),
    sa.Column('posting_date', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('movement_id', sa.Uuid(), nullable=True),
    sa.Column('journal_entry_id', sa.Uuid(), nullable=True),
    sa.Column('execution_id', sa.Uuid(), nullable=True),
    sa.Column('memo', sa.String(length=200), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("kind IN ('material', 'labour', 'overhead', 'output', 'scrap', 'variance')", name=op.f('ck_production_costs_kind')),
    sa.CheckConstraint('(movement_id IS NULL) <> (amount IS NULL)', name=op.f('ck_production_costs_movement_or_amount')),
    sa.ForeignKeyConstraint(['execution_id'], ['production_executions.id'], name=op.f('fk_production_costs_execution_id_production_executions')),
    sa.ForeignKeyConstraint(['journal_entry_id'], ['journal_entries.id'], name=op.f('fk_production_costs_journal_entry_id_journal_entries')),
    sa.ForeignKeyConstraint(['movement_id'], ['stock_movements.id'], name=op.f('fk_production_costs_movement_id_stock_movements')),
    sa.ForeignKeyConstraint(['order_id'], ['production_orders.id'], name=op.f('fk_production_costs_order_id_production_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_production_costs')),
    sa.UniqueConstraint('movement_id', name=op.f('uq_production_costs_movement_id'))
    )
    op.create_index('ix_production_costs_order_id_posting_date', 'production_costs', ['order_id', 'posting_date'], unique=False)
    op.create_index('ix_production_costs_posting_date', 'production_costs', ['posting_date'], unique=False)
    op.create_table('lot_consumptions',
    sa.Column('lot_id', sa.Uuid(), nullable=False),
    sa.Column('order_id', sa.Uuid(), nullable=False),
    sa.Column('issue_id', sa.Uuid(), nullable=True),
    sa.Column('quantity', sa.Numeric(precision=18, scale=3), nullable=False),
    sa.Column('consumed_on', sa.Date(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('quantity <> 0', name=op.f('ck_lot_consumptions_quantity')),
    sa.ForeignKeyConstraint(['issue_id'], ['production_issues.id'], name=op.f('fk_lot_consumptions_issue_id_production_issues')),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_lot_consumptions_lot_id_lots')),
    sa.ForeignKeyConstraint(['order_id'], ['production_orders.id'], name=op.f('fk_lot_consumptions_order_id_production_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lot_consumptions'))
    )
    op.create_index(op.f('ix_lot_consumptions_lot_id'), 'lot_consumptions', ['lot_id'], unique=False)
    op.create_index(op.f('ix_lot_consumptions_order_id'), 'lot_consumptions', ['order_id'], unique=False)
    op.create_table('inspections',
    sa.Column('lot_id', sa.Uuid(), nullable=False),
    sa.Column('result', sa.String(length=12), nullable=False),
    sa.Column('inspected_on', sa.Date(), nullable=False),
    sa.Column('inspector', sa.String(length=100), nullable=True),
    sa.Column('checks', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('movement_id', sa.Uuid(), nullable=True),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("result IN ('pass', 'fail', 'quarantine')", name=op.f('ck_inspections_result')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_inspections_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_inspections_lot_id_lots')),
    sa.ForeignKeyConstraint(['movement_id'], ['stock_movements.id'], name=op.f('fk_inspections_movement_id_stock_movements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspections'))
    )
    op.create_index(op.f('ix_inspections_lot_id'), 'inspections', ['lot_id'], unique=False)

    # Executions and lots point at each other (a roll's origin; an execution's roll): the second link last.
    op.create_foreign_key(op.f('fk_production_executions_lot_id_lots'), 'production_executions', 'lots',
                          ['lot_id'], ['id'])
    op.drop_constraint(op.f('ck_locations_kind'), 'locations', type_='check')
    op.create_check_constraint(op.f('ck_locations_kind'), 'locations', NEW_KINDS)


def downgrade() -> None:
    op.drop_constraint(op.f('ck_locations_kind'), 'locations', type_='check')
    op.create_check_constraint(op.f('ck_locations_kind'), 'locations', OLD_KINDS)
    op.drop_constraint(op.f('fk_production_executions_lot_id_lots'), 'production_executions', type_='foreignkey')
    for table in ("inspections", "lot_consumptions", "production_costs", "production_issues", "lots",
                  "production_executions", "production_order_materials", "production_orders", "production_runs",
                  "machine_downtimes", "route_step_machines", "route_steps", "routes", "bom_lines", "boms",
                  "piece_rates", "operators", "shifts", "machines"):
        op.drop_table(table)
