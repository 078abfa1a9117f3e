"""console indexes: the card list's order and filters, the taxonomy counts, a card's history

The web console lists 20,000 cards newest first with their active flag, counts cards per role / industry /
objection, and shows a card's audit history: without these each was a scan of the card rows (their token
lists make them long) or of the whole audit log.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 21:45:00
"""
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_knowledge_cards_active_modified', 'knowledge_cards', ['active', 'modified_at', 'id'])
    op.create_index('ix_knowledge_cards_role', 'knowledge_cards', ['role'])
    op.create_index('ix_knowledge_cards_industry', 'knowledge_cards', ['industry'])
    op.create_index('ix_knowledge_cards_objection', 'knowledge_cards', ['objection'])
    op.create_index('ix_audit_log_target', 'audit_log', ['target', 'id'])


def downgrade() -> None:
    op.drop_index('ix_audit_log_target', table_name='audit_log')
    op.drop_index('ix_knowledge_cards_objection', table_name='knowledge_cards')
    op.drop_index('ix_knowledge_cards_industry', table_name='knowledge_cards')
    op.drop_index('ix_knowledge_cards_role', table_name='knowledge_cards')
    op.drop_index('ix_knowledge_cards_active_modified', table_name='knowledge_cards')
