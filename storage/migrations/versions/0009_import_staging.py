"""import staging: a large card import is staged chunk by chunk and published in one short transaction

Issue 13 wants nothing half-imported; issue 20 wants no import to hold SQLite's writer for long. Chunks are
written to knowledge_cards_staging under the import's batch id (each chunk its own transaction) and one
INSERT ... SELECT publishes the whole batch into knowledge_cards.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 23:00:00
"""
import sqlalchemy as sa
from alembic import op

import storage.models

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('knowledge_cards_staging',
    sa.Column('batch_id', sa.String(length=32), nullable=False),
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=True),
    sa.Column('industry', sa.String(length=32), nullable=True),
    sa.Column('objection', sa.String(length=32), nullable=True),
    sa.Column('talk_track', sa.Text(), nullable=False),
    sa.Column('quote_template', sa.Text(), nullable=False),
    sa.Column('success_case', sa.Text(), nullable=False),
    sa.Column('keywords', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.Date(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('tokens', sa.JSON(), nullable=True),
    sa.Column('source', sa.String(length=255), nullable=True),
    sa.Column('modified_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('staged_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('batch_id', 'id')
    )
    op.create_index('ix_knowledge_cards_staging_staged_at', 'knowledge_cards_staging', ['staged_at'])


def downgrade() -> None:
    op.drop_index('ix_knowledge_cards_staging_staged_at', table_name='knowledge_cards_staging')
    op.drop_table('knowledge_cards_staging')
