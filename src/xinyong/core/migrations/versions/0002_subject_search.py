"""subject name search index

Revision ID: 0002_search
Revises: 0001
Create Date: 2026-11-22 12:25:00

`subject_search` holds one row per name with its tokens; SQLite indexes the tokens in an
FTS5 table (external content), PostgreSQL in a GIN index over the token array. Triggers
queue every subject whose names change in `subject_search_queue`, which
`xinyong.subjects.search.refresh` empties. Subjects already stored are queued here.
"""

import sqlalchemy as sa
from alembic import op

revision = '0002_search'
down_revision = '0001'
branch_labels = None
depends_on = None

SQLITE_TRIGGERS = {
    "subject_search_subject_added":
        "AFTER INSERT ON subject BEGIN {enqueue} (new.id); END",
    "subject_search_subject_changed":
        "AFTER UPDATE OF name, kind ON subject "
        "WHEN old.name IS NOT new.name OR old.kind IS NOT new.kind "
        "BEGIN {enqueue} (new.id); END",
    "subject_search_subject_deleted":
        "AFTER DELETE ON subject BEGIN {enqueue} (old.id); END",
    "subject_search_name_added":
        "AFTER INSERT ON subject_name BEGIN {enqueue} (new.subject_id); END",
    "subject_search_name_changed":
        "AFTER UPDATE OF name, subject_id ON subject_name "
        "WHEN old.name IS NOT new.name OR old.subject_id IS NOT new.subject_id "
        "BEGIN {enqueue} (old.subject_id); {enqueue} (new.subject_id); END",
    "subject_search_name_deleted":
        "AFTER DELETE ON subject_name BEGIN {enqueue} (old.subject_id); END",
}

# Statement-level triggers with transition tables: a COPY of 100,000 subjects queues them
# with one INSERT … SELECT, not 100,000 function calls.
POSTGRES_FUNCTION = """
CREATE FUNCTION subject_search_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'subject' THEN
    IF TG_OP = 'INSERT' THEN
      INSERT INTO subject_search_queue (subject_id) SELECT id FROM new_rows;
    ELSIF TG_OP = 'DELETE' THEN
      INSERT INTO subject_search_queue (subject_id) SELECT id FROM old_rows;
    ELSE
      INSERT INTO subject_search_queue (subject_id)
      SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
      WHERE n.name IS DISTINCT FROM o.name OR n.kind IS DISTINCT FROM o.kind;
    END IF;
  ELSE
    IF TG_OP = 'INSERT' THEN
      INSERT INTO subject_search_queue (subject_id) SELECT subject_id FROM new_rows;
    ELSIF TG_OP = 'DELETE' THEN
      INSERT INTO subject_search_queue (subject_id) SELECT subject_id FROM old_rows;
    ELSE
      INSERT INTO subject_search_queue (subject_id)
      SELECT o.subject_id FROM new_rows n JOIN old_rows o ON o.id = n.id
      WHERE n.name IS DISTINCT FROM o.name OR n.subject_id IS DISTINCT FROM o.subject_id
      UNION ALL
      SELECT n.subject_id FROM new_rows n JOIN old_rows o ON o.id = n.id
      WHERE n.name IS DISTINCT FROM o.name OR n.subject_id IS DISTINCT FROM o.subject_id;
    END IF;
  END IF;
  RETURN NULL;
END $$"""

POSTGRES_TRIGGERS = [
    (table, event, transition)
    for table in ("subject", "subject_name")
    for event, transition in (("INSERT", "NEW TABLE AS new_rows"),
                              ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
                              ("DELETE", "OLD TABLE AS old_rows"))
]


def upgrade() -> None:
    op.create_table('subject_search',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('subject_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('tokens', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subject_search'))
    )
    with op.batch_alter_table('subject_search', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subject_search_subject_id'), ['subject_id'], unique=False)

    op.create_table('subject_search_queue',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('subject_id', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subject_search_queue'))
    )

    if op.get_bind().dialect.name == 'sqlite':
        # detail=full keeps token positions for phrase queries; no column sizes: no ranking
        # function is used. remove_diacritics 0: a name matches only its own letters.
        op.execute("CREATE VIRTUAL TABLE subject_search_fts USING fts5("
                   "tokens, content='subject_search', content_rowid='id', columnsize=0, "
                   "tokenize='unicode61 remove_diacritics 0')")
        enqueue = "INSERT INTO subject_search_queue (subject_id) VALUES"
        for name, body in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body.format(enqueue=enqueue)}")
    else:
        op.execute("CREATE INDEX ix_subject_search_tokens ON subject_search "
                   "USING gin (string_to_array(tokens, ' '))")
        op.execute(POSTGRES_FUNCTION)
        for table, event, transition in POSTGRES_TRIGGERS:
            op.execute(f"CREATE TRIGGER subject_search_{table}_{event.lower()} AFTER {event} "
                       f"ON {table} REFERENCING {transition} FOR EACH STATEMENT "
                       "EXECUTE FUNCTION subject_search_enqueue()")
    op.execute("INSERT INTO subject_search_queue (subject_id) SELECT id FROM subject")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
        op.execute("DROP TABLE subject_search_fts")
    else:
        for table, event, _ in POSTGRES_TRIGGERS:
            op.execute(f"DROP TRIGGER subject_search_{table}_{event.lower()} ON {table}")
        op.execute("DROP FUNCTION subject_search_enqueue()")
    op.drop_table('subject_search_queue')
    with op.batch_alter_table('subject_search', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subject_search_subject_id'))

    op.drop_table('subject_search')
