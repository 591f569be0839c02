"""repair cases that take a subject off a list (移出严重失信主体名单): a case names the
workflow list entry it ends (entry_id), so a case no longer always rests on a record

Revision ID: 0012_list_repair
Revises: 0010_rights_merge
Create Date: 2026-11-22 15:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0012_list_repair'
down_revision = '0010_rights_merge'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('repair_case') as batch:
        batch.add_column(sa.Column('entry_id', ID, nullable=True))
        batch.alter_column('record_id', existing_type=ID, nullable=True)
        batch.create_foreign_key(op.f('fk_repair_case_entry_id_list_entry'), 'list_entry',
                                 ['entry_id'], ['id'])
        batch.create_index('ix_repair_case_entry', ['entry_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('repair_case') as batch:
        batch.drop_index('ix_repair_case_entry')
        batch.drop_constraint(op.f('fk_repair_case_entry_id_list_entry'), type_='foreignkey')
        batch.drop_column('entry_id')
        batch.alter_column('record_id', existing_type=ID, nullable=False)
