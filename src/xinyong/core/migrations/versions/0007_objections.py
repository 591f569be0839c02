"""objection cases (异议)

Revision ID: 0007_objections
Revises: 0006_rights
Create Date: 2026-11-22 14:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0007_objections'
down_revision = '0006_rights'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('objection',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_no', sa.String(length=18), nullable=False),
    sa.Column('record_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('subject_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('department', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('attachments', sa.Text(), nullable=False),
    sa.Column('filed_on', sa.Date(), nullable=False),
    sa.Column('filed_at', sa.DateTime(), nullable=False),
    sa.Column('filed_by', sa.String(length=128), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('decided_by', sa.String(length=128), nullable=True),
    sa.Column('changes', sa.Text(), nullable=True),
    sa.Column('corrected_record_id', sa.BigInteger(), nullable=True),
    sa.Column('stop_id', sa.BigInteger(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['record_id'], ['record.id'], name=op.f('fk_objection_record_id_record')),
    sa.ForeignKeyConstraint(['subject_id'], ['subject.id'], name=op.f('fk_objection_subject_id_subject')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_objection')),
    sa.UniqueConstraint('case_no', name=op.f('uq_objection_case_no'))
    )
    op.create_index('ix_objection_queue', 'objection', ['department', 'status', 'due_date'], unique=False)
    op.create_index('ix_objection_record', 'objection', ['record_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_objection_record', table_name='objection')
    op.drop_index('ix_objection_queue', table_name='objection')
    op.drop_table('objection')
