"""indexes for the front door's state read: the last card sent to a person, the lead they last acted on

Every typed message reads the last card sent to its sender (`handlers/chat/front.py`, numbered replies and
buttons typed back). That read filters on the recipient alone; the only recipient index leads with the channel,
so it was a scan of the whole outbox — 16 ms per message at 5,000 rows, growing with every reply ever sent. The
same read's "lead this rep acted on in the last 30 minutes" could scan the activities table likewise.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 03:20:00
"""
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_outbox_recipient_kind', 'outbox', ['recipient', 'kind', 'id'])
    op.create_index('ix_activities_actor_created', 'activities', ['actor_id', 'created_at'])


def downgrade() -> None:
    op.drop_index('ix_activities_actor_created', table_name='activities')
    op.drop_index('ix_outbox_recipient_kind', table_name='outbox')
