"""sign-in defences: two-factor (TOTP, recovery codes), step-up, token expiry

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 16:30:00
"""

from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('users', sa.Column('totp_secret_enc', sa.Text(), nullable=True))
    op.add_column('users', sa.Column('totp_enabled_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('users', sa.Column('totp_last_step', sa.BigInteger(), nullable=True))
    op.add_column('user_sessions', sa.Column('step_up_at', sa.DateTime(timezone=True), nullable=True))

    op.create_table('user_recovery_codes',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_recovery_codes_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_recovery_codes'))
    )
    op.create_index('ix_user_recovery_codes_user', 'user_recovery_codes', ['user_id'], unique=False)

    op.create_table('sign_in_policy',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('require_mfa', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_sign_in_policy_single_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_policy'))
    )

    # One-time links gain the sign-in's second-factor ticket.
    op.drop_constraint(op.f('ck_one_time_tokens_purpose'), 'one_time_tokens', type_='check')
    op.create_check_constraint(op.f('ck_one_time_tokens_purpose'), 'one_time_tokens',
                               "purpose IN ('invite', 'reset', 'mfa')")

    # Tokens made before expiry was the default stop working 90 days from now instead of never.
    op.execute("UPDATE api_tokens SET expires_at = now() + interval '90 days' "
               "WHERE expires_at IS NULL AND revoked_at IS NULL")


def downgrade() -> None:
    op.execute("DELETE FROM one_time_tokens WHERE purpose = 'mfa'")
    op.drop_constraint(op.f('ck_one_time_tokens_purpose'), 'one_time_tokens', type_='check')
    op.create_check_constraint(op.f('ck_one_time_tokens_purpose'), 'one_time_tokens', "purpose IN ('invite', 'reset')")
    op.drop_table('sign_in_policy')
    op.drop_index('ix_user_recovery_codes_user', table_name='user_recovery_codes')
    op.drop_table('user_recovery_codes')
    op.drop_column('user_sessions', 'step_up_at')
    op.drop_column('users', 'totp_last_step')
    op.drop_column('users', 'totp_enabled_at')
    op.drop_column('users', 'totp_secret_enc')
