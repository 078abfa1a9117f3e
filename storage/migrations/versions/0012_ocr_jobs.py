"""ocr_jobs: screenshots waiting for an OCR worker process (issue 19, `[ocr] mode = "worker"`)

A webhook instance in worker mode stores the image and queues a job in the same transaction as its short
「收到截图，正在识别…」 reply; `salesbot worker ocr` claims jobs with a lease and finishes each in one transaction
with the draft card it produces.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 06:30:00
"""
import sqlalchemy as sa
from alembic import op

import storage.models

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ocr_jobs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('msg_id', sa.String(length=191), nullable=False),
    sa.Column('sender', sa.String(length=128), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('conversation_id', sa.String(length=128), nullable=True),
    sa.Column('context', sa.JSON(), nullable=False),
    sa.Column('image_path', sa.Text(), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=True),
    sa.Column('received_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('lease_until', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('channel', 'msg_id', name='uq_ocr_jobs_msg')
    )
    op.create_index('ix_ocr_jobs_open', 'ocr_jobs', ['state', 'lease_until'])
    op.create_index('ix_ocr_jobs_user', 'ocr_jobs', ['user_id', 'state', 'id'])


def downgrade() -> None:
    op.drop_index('ix_ocr_jobs_user', table_name='ocr_jobs')
    op.drop_index('ix_ocr_jobs_open', table_name='ocr_jobs')
    op.drop_table('ocr_jobs')
