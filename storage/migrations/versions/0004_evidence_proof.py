"""evidence: what it proves (proof type from OCR / file name) and the OCR text

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 16:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.add_column(sa.Column('proof', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('ocr_text', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.drop_column('ocr_text')
        batch_op.drop_column('proof')
