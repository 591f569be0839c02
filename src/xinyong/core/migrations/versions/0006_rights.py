"""groundwork for subjects' rights: enterprise accounts, publicity stops

Revision ID: 0006_rights
Revises: 0005_web_sessions
Create Date: 2026-11-22 14:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0006_rights'
down_revision = '0005_web_sessions'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('account') as batch:
        batch.add_column(sa.Column('subject_uscc', sa.String(length=18), nullable=True))
    op.create_table('publicity_stop',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('record_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('subject_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('since', sa.Date(), nullable=False),
    sa.Column('until', sa.Date(), nullable=True),
    sa.Column('case_type', sa.String(length=16), nullable=False),
    sa.Column('case_id', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.ForeignKeyConstraint(['record_id'], ['record.id'], name=op.f('fk_publicity_stop_record_id_record')),
    sa.ForeignKeyConstraint(['subject_id'], ['subject.id'], name=op.f('fk_publicity_stop_subject_id_subject')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_publicity_stop'))
    )
    op.create_index('ix_publicity_stop_record', 'publicity_stop', ['record_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_publicity_stop_record', table_name='publicity_stop')
    op.drop_table('publicity_stop')
    with op.batch_alter_table('account') as batch:
        batch.drop_column('subject_uscc')
