"""sampling: random inspection plans (双随机一公开), their draws and inspection results

Revision ID: 0016_sampling
Revises: 0013_feedback
Create Date: 2026-11-22 16:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0016_sampling'
down_revision = '0013_feedback'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('sampling_plan',
    sa.Column('id', ID, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('department', sa.String(length=200), nullable=False),
    sa.Column('scorecard', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('parameters', sa.Text(), nullable=False),
    sa.Column('seed', sa.String(length=128), nullable=True),
    sa.Column('seed_generated', sa.Boolean(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.Column('drawn_at', sa.DateTime(), nullable=True),
    sa.Column('drawn_by', sa.String(length=128), nullable=True),
    sa.Column('inputs', sa.Text(), nullable=True),
    sa.Column('population_size', sa.Integer(), nullable=True),
    sa.Column('population_sha256', sa.String(length=64), nullable=True),
    sa.Column('sample_sha256', sa.String(length=64), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(), nullable=True),
    sa.Column('cancel_reason', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sampling_plan'))
    )
    op.create_index('ix_sampling_plan_department_id', 'sampling_plan', ['department', 'id'], unique=False)
    op.create_table('sampling_draw',
    sa.Column('id', ID, nullable=False),
    sa.Column('plan_id', ID, nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('subject_id', sa.BigInteger(), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('grade', sa.String(length=8), nullable=True),
    sa.Column('inspectors', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['sampling_plan.id'], name=op.f('fk_sampling_draw_plan_id_sampling_plan')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sampling_draw')),
    sa.UniqueConstraint('plan_id', 'position', name='uq_sampling_draw_plan_id_position'),
    sa.UniqueConstraint('plan_id', 'subject_id', name='uq_sampling_draw_plan_id_subject_id')
    )
    op.create_index('ix_sampling_draw_subject_id', 'sampling_draw', ['subject_id'], unique=False)
    op.create_table('sampling_result',
    sa.Column('id', ID, nullable=False),
    sa.Column('plan_id', ID, nullable=False),
    sa.Column('subject_id', sa.BigInteger(), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.Column('findings', sa.Text(), nullable=True),
    sa.Column('inspected_on', sa.Date(), nullable=False),
    sa.Column('inspectors', sa.Text(), nullable=False),
    sa.Column('batch_id', sa.BigInteger(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.Column('recorded_by', sa.String(length=128), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['sampling_plan.id'], name=op.f('fk_sampling_result_plan_id_sampling_plan')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sampling_result')),
    sa.UniqueConstraint('plan_id', 'subject_id', name='uq_sampling_result_plan_id_subject_id')
    )
    op.create_index('ix_sampling_result_subject_id', 'sampling_result', ['subject_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_sampling_result_subject_id', table_name='sampling_result')
    op.drop_table('sampling_result')
    op.drop_index('ix_sampling_draw_subject_id', table_name='sampling_draw')
    op.drop_table('sampling_draw')
    op.drop_index('ix_sampling_plan_department_id', table_name='sampling_plan')
    op.drop_table('sampling_plan')
