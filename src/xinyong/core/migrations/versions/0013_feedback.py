"""check feedback: what callers did with the measures a check returned (执行反馈); also merges
the two heads 0011_check and 0012_list_repair

Revision ID: 0013_feedback
Revises: 0011_check, 0012_list_repair
Create Date: 2026-11-22 15:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0013_feedback'
down_revision = ('0011_check', '0012_list_repair')
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('check_feedback',
    sa.Column('id', ID, nullable=False),
    sa.Column('check_id', sa.String(length=32), nullable=False),
    sa.Column('measure', sa.String(length=64), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('result', sa.Text(), nullable=True),
    sa.Column('reported_at', sa.DateTime(), nullable=False),
    sa.Column('reported_by', sa.String(length=128), nullable=False),
    sa.Column('department', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_check_feedback')),
    sa.UniqueConstraint('check_id', 'measure', name='uq_check_feedback_check_id_measure')
    )
    op.create_index('ix_check_feedback_department_reported_at', 'check_feedback',
                    ['department', 'reported_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_check_feedback_department_reported_at', table_name='check_feedback')
    op.drop_table('check_feedback')
