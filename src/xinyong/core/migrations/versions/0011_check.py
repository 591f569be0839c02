"""check: the check log (信用核查记录), the ground of check feedback

Revision ID: 0011_check
Revises: 0010_rights_merge
Create Date: 2026-11-22 15:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0011_check'
down_revision = '0010_rights_merge'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('check_log',
    sa.Column('id', ID, nullable=False),
    sa.Column('check_id', sa.String(length=32), nullable=False),
    sa.Column('batch_id', sa.String(length=32), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('caller', sa.String(length=128), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('department', sa.String(length=200), nullable=True),
    sa.Column('system', sa.String(length=128), nullable=True),
    sa.Column('matter', sa.String(length=64), nullable=False),
    sa.Column('query_type', sa.String(length=8), nullable=False),
    sa.Column('query', sa.String(length=200), nullable=False),
    sa.Column('subject_id', sa.BigInteger(), nullable=True),
    sa.Column('result', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_check_log')),
    sa.UniqueConstraint('check_id', name=op.f('uq_check_log_check_id'))
    )
    op.create_index('ix_check_log_department_at', 'check_log', ['department', 'at'], unique=False)
    op.create_index(op.f('ix_check_log_batch_id'), 'check_log', ['batch_id'], unique=False)
    op.create_index(op.f('ix_check_log_subject_id'), 'check_log', ['subject_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_check_log_subject_id'), table_name='check_log')
    op.drop_index(op.f('ix_check_log_batch_id'), table_name='check_log')
    op.drop_index('ix_check_log_department_at', table_name='check_log')
    op.drop_table('check_log')
