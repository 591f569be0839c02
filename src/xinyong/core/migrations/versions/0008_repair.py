"""credit repair cases and their materials; the outbox of events for the upper-level platform

Revision ID: 0008_repair
Revises: 0006_rights
Create Date: 2026-11-22 14:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0008_repair'
down_revision = '0006_rights'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('repair_case',
    sa.Column('id', ID, nullable=False),
    sa.Column('case_no', sa.String(length=18), nullable=False),
    sa.Column('record_id', ID, nullable=False),
    sa.Column('subject_id', ID, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('statement', sa.Text(), nullable=False),
    sa.Column('applicant', sa.String(length=128), nullable=False),
    sa.Column('applied_at', sa.DateTime(), nullable=False),
    sa.Column('applied_on', sa.Date(), nullable=False),
    sa.Column('step_since', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('accepted_on', sa.Date(), nullable=True),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.Column('decided_by', sa.String(length=128), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('missing', sa.Text(), nullable=True),
    sa.Column('rounds', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['record_id'], ['record.id'], name=op.f('fk_repair_case_record_id_record')),
    sa.ForeignKeyConstraint(['subject_id'], ['subject.id'], name=op.f('fk_repair_case_subject_id_subject')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_repair_case')),
    sa.UniqueConstraint('case_no', name=op.f('uq_repair_case_case_no'))
    )
    op.create_index('ix_repair_case_record', 'repair_case', ['record_id'], unique=False)
    op.create_index('ix_repair_case_queue', 'repair_case', ['status', 'due_on'], unique=False)
    op.create_table('repair_material',
    sa.Column('id', ID, nullable=False),
    sa.Column('case_id', ID, nullable=False),
    sa.Column('subject_id', ID, nullable=False),
    sa.Column('material', sa.String(length=32), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('stored', sa.String(length=255), nullable=False),
    sa.Column('file_type', sa.String(length=8), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['repair_case.id'], name=op.f('fk_repair_material_case_id_repair_case')),
    sa.ForeignKeyConstraint(['subject_id'], ['subject.id'], name=op.f('fk_repair_material_subject_id_subject')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_repair_material'))
    )
    op.create_index('ix_repair_material_case', 'repair_material', ['case_id'], unique=False)
    op.create_table('outbound_event',
    sa.Column('id', ID, nullable=False),
    sa.Column('type', sa.String(length=64), nullable=False),
    sa.Column('subject_id', sa.BigInteger(), nullable=True),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbound_event'))
    )
    op.create_index('ix_outbound_event_unsent', 'outbound_event', ['sent_at', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_outbound_event_unsent', table_name='outbound_event')
    op.drop_table('outbound_event')
    op.drop_index('ix_repair_material_case', table_name='repair_material')
    op.drop_table('repair_material')
    op.drop_index('ix_repair_case_queue', table_name='repair_case')
    op.drop_index('ix_repair_case_record', table_name='repair_case')
    op.drop_table('repair_case')
