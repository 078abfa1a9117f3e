"""change_counts: a counter of changes to `users`, bumped by triggers, so the team snapshot reloads on change

The team snapshot (bot/org.py `TeamCache`) re-read every user every 10 s in case another process had changed one
(~100 ms of the event loop at 10,000 reps). Now it reads this one row and reloads only when the count moved. The
triggers count inserts, deletes and changes of what the snapshot holds (name, role, manager, active); a change of
`channel` alone (every rep's first message of a day) is not counted: a stale channel in another process's snapshot
costs that process one redundant channel write.

On PostgreSQL the triggers advance a sequence instead (`users_changes`, read as its `last_value`): an UPDATE of
one counter row would hold that row's lock until the writer's commit, and every newcomer's registration, in
every instance, would wait for the one before it to commit. A sequence never waits, but it moves before the
change is committed: the snapshot loads once more at the check after a change (bot/org.py).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 15:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

BUMP = "UPDATE change_counts SET n = n + 1 WHERE name = 'users'"
CHANGED = ("OLD.name IS DISTINCT FROM NEW.name OR OLD.role IS DISTINCT FROM NEW.role "
           "OR OLD.manager_id IS DISTINCT FROM NEW.manager_id OR OLD.active IS DISTINCT FROM NEW.active")


def upgrade() -> None:
    op.create_table('change_counts',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('n', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.execute("INSERT INTO change_counts (name, n) VALUES ('users', 0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE users_changes")
        op.execute("CREATE FUNCTION users_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                   "PERFORM nextval('users_changes'); RETURN NULL; END $$")
        op.execute("CREATE TRIGGER users_added_or_removed AFTER INSERT OR DELETE ON users "
                   "FOR EACH ROW EXECUTE FUNCTION users_changed()")
        op.execute(f"CREATE TRIGGER users_changed AFTER UPDATE ON users FOR EACH ROW WHEN ({CHANGED}) "
                   "EXECUTE FUNCTION users_changed()")
        return
    sqlite_changed = CHANGED.replace("IS DISTINCT FROM", "IS NOT")
    op.execute(f"CREATE TRIGGER users_added AFTER INSERT ON users BEGIN {BUMP}; END")
    op.execute(f"CREATE TRIGGER users_removed AFTER DELETE ON users BEGIN {BUMP}; END")
    op.execute(f"CREATE TRIGGER users_changed AFTER UPDATE ON users WHEN {sqlite_changed} BEGIN {BUMP}; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER users_changed ON users")
        op.execute("DROP TRIGGER users_added_or_removed ON users")
        op.execute("DROP FUNCTION users_changed()")
        op.execute("DROP SEQUENCE users_changes")
    else:
        for name in ("users_changed", "users_removed", "users_added"):
            op.execute(f"DROP TRIGGER {name}")
    op.drop_table('change_counts')
