"""renewals: contracts, payments and renewal warnings (续约预警)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 18:50:00
"""
import sqlalchemy as sa
from alembic import op

import storage.models

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('contracts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('lead_id', sa.Integer(), nullable=False),
    sa.Column('customer', sa.String(length=64), nullable=False),
    sa.Column('company', sa.String(length=128), nullable=True),
    sa.Column('amount_cny', sa.BigInteger(), nullable=False),
    sa.Column('start_on', sa.Date(), nullable=False),
    sa.Column('end_on', sa.Date(), nullable=False),
    sa.Column('owner_id', sa.String(length=64), nullable=True),
    sa.Column('health', sa.Integer(), nullable=True),
    sa.Column('renewal', sa.String(length=16), nullable=True),
    sa.Column('source', sa.String(length=255), nullable=True),
    sa.Column('created_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('lead_id', 'start_on', 'end_on', name='uq_contracts_lead_term')
    )
    with op.batch_alter_table('contracts', schema=None) as batch_op:
        batch_op.create_index('ix_contracts_end', ['end_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_contracts_owner_id'), ['owner_id'], unique=False)

    op.create_table('payments',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('lead_id', sa.Integer(), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('amount_cny', sa.BigInteger(), nullable=False),
    sa.Column('source', sa.String(length=255), nullable=True),
    sa.Column('created_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('lead_id', 'paid_on', 'amount_cny', name='uq_payments_lead_day_amount')
    )

    op.create_table('renewal_warnings',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('lead_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.String(length=64), nullable=True),
    sa.Column('company', sa.String(length=128), nullable=True),
    sa.Column('health', sa.Integer(), nullable=False),
    sa.Column('health_source', sa.String(length=16), nullable=False),
    sa.Column('last_paid_on', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('locked', sa.Boolean(), nullable=False),
    sa.Column('resolved_by', sa.String(length=64), nullable=True),
    sa.Column('resolved_at', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contract_id'], ['contracts.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('contract_id')
    )
    with op.batch_alter_table('renewal_warnings', schema=None) as batch_op:
        batch_op.create_index('ix_renewal_warnings_locked', ['locked', 'owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_renewal_warnings_lead_id'), ['lead_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('renewal_warnings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_renewal_warnings_lead_id'))
        batch_op.drop_index('ix_renewal_warnings_locked')
    op.drop_table('renewal_warnings')
    op.drop_table('payments')
    with op.batch_alter_table('contracts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contracts_owner_id'))
        batch_op.drop_index('ix_contracts_end')
    op.drop_table('contracts')
