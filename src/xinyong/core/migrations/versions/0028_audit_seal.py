"""audit seal: the key id of each event, and the audit table append-only

Revision ID: 0028_audit_seal
Revises: 0026_hardening_merge
Create Date: 2026-12-04 04:00:00

Events from before this revision keep their plain SHA-256 chain (key_id NULL); if there are
any, their head is anchored now, with a key created on first use, so that whoever can write to
the database cannot recompute them later without being noticed.
"""

import sqlalchemy as sa
from alembic import op

revision = '0028_audit_seal'
down_revision = '0026_hardening_merge'
branch_labels = None
depends_on = None

REFUSAL = "audit_event is append-only"

PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{REFUSAL}' USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    op.add_column('audit_event', sa.Column('key_id', sa.String(length=16), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER audit_event_no_{verb.lower()} BEFORE {verb} ON audit_event "
                       f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END")
    else:
        op.execute(PG_FUNCTION)
        op.execute("CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event "
                   "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()")
        op.execute("CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
                   "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()")
    _anchor_legacy_head()


def _anchor_legacy_head() -> None:
    from xinyong.core import audit

    row = op.get_bind().execute(
        sa.text("SELECT id, hash FROM audit_event ORDER BY id DESC LIMIT 1")).first()
    if row is not None:
        if audit.load_keys().current is None:
            audit.rotate_key()
        audit.write_anchor(int(row[0]), str(row[1]))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_change ON audit_event")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")
    with op.batch_alter_table('audit_event') as batch:
        batch.drop_column('key_id')
