"""cross-check indexes: a lead's team budgets by industry, and its colleagues' customers by company prefix

The cross-checks run on every confirm, edit and stage change (issue 17: ≤ 5 ms). Two of their queries scanned
the whole leads table on PostgreSQL: the team's known budgets in the lead's industry (no index on industry), and
the colleagues' leads whose company starts like this one's (`LIKE 'prefix%'` cannot use a btree index under a
locale collation). (industry, id) serves the first newest-first; on PostgreSQL the company index becomes a
varchar_pattern_ops index, which serves both equality and LIKE 'prefix%' (SQLite keeps its index: the prefix is
an index range there).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 22:15:00
"""
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_leads_industry_id', 'leads', ['industry', 'id'])
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_leads_company', table_name='leads')
        op.create_index('ix_leads_company', 'leads', ['company'], postgresql_ops={'company': 'varchar_pattern_ops'})


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_leads_company', table_name='leads')
        op.create_index('ix_leads_company', 'leads', ['company'])
    op.drop_index('ix_leads_industry_id', table_name='leads')
