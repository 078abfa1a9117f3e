"""renewal import staging: a contracts or payments file lands in one short transaction or not at all

The contracts import committed each chunk of a large file on its own, so a database error in a later chunk left
the earlier ones imported. Like the knowledge import (0009), the rows are now staged chunk by chunk into
renewal_import_staging under the import's batch id and published by one INSERT ... SELECT.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 00:40:00
"""
import sqlalchemy as sa
from alembic import op

import storage.models

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('renewal_import_staging',
    sa.Column('batch_id', sa.String(length=32), nullable=False),
    sa.Column('line', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('lead_id', sa.Integer(), nullable=False),
    sa.Column('customer', sa.String(length=64), nullable=True),
    sa.Column('company', sa.String(length=128), nullable=True),
    sa.Column('amount_cny', sa.BigInteger(), nullable=False),
    sa.Column('start_on', sa.Date(), nullable=True),
    sa.Column('end_on', sa.Date(), nullable=True),
    sa.Column('paid_on', sa.Date(), nullable=True),
    sa.Column('owner_id', sa.String(length=64), nullable=True),
    sa.Column('health', sa.Integer(), nullable=True),
    sa.Column('renewal', sa.String(length=16), nullable=True),
    sa.Column('source', sa.String(length=255), nullable=True),
    sa.Column('staged_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('batch_id', 'line')
    )
    op.create_index('ix_renewal_import_staging_staged_at', 'renewal_import_staging', ['staged_at'])


def downgrade() -> None:
    op.drop_index('ix_renewal_import_staging_staged_at', table_name='renewal_import_staging')
    op.drop_table('renewal_import_staging')
