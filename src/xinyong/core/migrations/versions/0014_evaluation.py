"""evaluation: evaluation runs, current results per subject and scorecard, grade history

Revision ID: 0014_evaluation
Revises: 0013_feedback
Create Date: 2026-11-22 16:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0014_evaluation'
down_revision = '0013_feedback'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_index('ix_record_subject_evaluation', 'record',
                    ['subject_id', 'item_code', 'status', 'decision_date', 'publicity_tier',
                     'department'], unique=False)
    # the new index leads with subject_id: the plain one would only cost ingest a write
    op.drop_index('ix_record_subject', table_name='record')
    op.create_table('evaluation_run',
    sa.Column('id', ID, nullable=False),
    sa.Column('scorecard', sa.String(length=64), nullable=False),
    sa.Column('version', sa.String(length=32), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('evaluated', sa.Integer(), nullable=False),
    sa.Column('skipped_natural_persons', sa.Integer(), nullable=False),
    sa.Column('actor', sa.String(length=128), nullable=False),
    sa.Column('record_watermark', sa.BigInteger(), nullable=True),
    sa.Column('list_watermark', sa.BigInteger(), nullable=True),
    sa.Column('audit_watermark', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_run'))
    )
    op.create_index('ix_evaluation_run_scorecard_id', 'evaluation_run', ['scorecard', 'id'],
                    unique=False)
    op.create_table('evaluation_result',
    sa.Column('subject_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('scorecard', sa.String(length=64), nullable=False),
    sa.Column('version', sa.String(length=32), nullable=False),
    sa.Column('run_id', sa.BigInteger(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('grade', sa.String(length=8), nullable=False),
    sa.Column('grade_rank', sa.Integer(), nullable=False),
    sa.Column('industry', sa.String(length=8), nullable=True),
    sa.Column('district', sa.String(length=6), nullable=True),
    sa.Column('indicators', sa.Text(), nullable=False),
    sa.Column('reasons', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('subject_id', 'scorecard', name=op.f('pk_evaluation_result'))
    )
    op.create_index('ix_evaluation_result_scorecard_grade_rank', 'evaluation_result',
                    ['scorecard', 'grade_rank'], unique=False)
    op.create_table('evaluation_change',
    sa.Column('id', ID, nullable=False),
    sa.Column('subject_id', sa.BigInteger(), nullable=False),
    sa.Column('scorecard', sa.String(length=64), nullable=False),
    sa.Column('run_id', sa.BigInteger(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('grade', sa.String(length=8), nullable=False),
    sa.Column('grade_rank', sa.Integer(), nullable=False),
    sa.Column('previous_grade', sa.String(length=8), nullable=True),
    sa.Column('previous_rank', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_change'))
    )
    op.create_index('ix_evaluation_change_scorecard_run_id', 'evaluation_change',
                    ['scorecard', 'run_id'], unique=False)
    op.create_index('ix_evaluation_change_subject_id', 'evaluation_change', ['subject_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_evaluation_change_subject_id', table_name='evaluation_change')
    op.drop_index('ix_evaluation_change_scorecard_run_id', table_name='evaluation_change')
    op.drop_table('evaluation_change')
    op.drop_index('ix_evaluation_result_scorecard_grade_rank', table_name='evaluation_result')
    op.drop_table('evaluation_result')
    op.drop_index('ix_evaluation_run_scorecard_id', table_name='evaluation_run')
    op.drop_table('evaluation_run')
    op.create_index('ix_record_subject', 'record', ['subject_id'], unique=False)
    op.drop_index('ix_record_subject_evaluation', table_name='record')
