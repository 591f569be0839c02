"""lists: list proposals (admission workflow) and list entries

Revision ID: 0009_lists
Revises: 0006_rights
Create Date: 2026-11-22 14:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0009_lists'
down_revision = '0006_rights'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('list_proposal',
    sa.Column('id', ID, nullable=False),
    sa.Column('subject_id', ID, nullable=False),
    sa.Column('kind_code', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('facts', sa.Text(), nullable=False),
    sa.Column('basis', sa.Text(), nullable=False),
    sa.Column('record_id', ID, nullable=True),
    sa.Column('proposed_on', sa.Date(), nullable=False),
    sa.Column('proposed_at', sa.DateTime(), nullable=False),
    sa.Column('proposed_by', sa.String(length=128), nullable=False),
    sa.Column('notified_on', sa.Date(), nullable=True),
    sa.Column('notice_content', sa.Text(), nullable=True),
    sa.Column('notified_by', sa.String(length=128), nullable=True),
    sa.Column('objection', sa.Text(), nullable=True),
    sa.Column('objected_on', sa.Date(), nullable=True),
    sa.Column('objected_by', sa.String(length=128), nullable=True),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.Column('decision_doc_no', sa.String(length=128), nullable=True),
    sa.Column('objection_reply', sa.Text(), nullable=True),
    sa.Column('decided_by', sa.String(length=128), nullable=True),
    sa.Column('withdrawn_on', sa.Date(), nullable=True),
    sa.Column('withdrawal_reason', sa.Text(), nullable=True),
    sa.Column('withdrawn_by', sa.String(length=128), nullable=True),
    sa.ForeignKeyConstraint(['record_id'], ['record.id'], name=op.f('fk_list_proposal_record_id_record')),
    sa.ForeignKeyConstraint(['subject_id'], ['subject.id'], name=op.f('fk_list_proposal_subject_id_subject')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_list_proposal'))
    )
    op.create_index('ix_list_proposal_status', 'list_proposal', ['status', 'kind_code'], unique=False)
    op.create_index(op.f('ix_list_proposal_subject_id'), 'list_proposal', ['subject_id'], unique=False)
    op.create_table('list_entry',
    sa.Column('id', ID, nullable=False),
    sa.Column('proposal_id', ID, nullable=False),
    sa.Column('subject_id', ID, nullable=False),
    sa.Column('kind_code', sa.String(length=64), nullable=False),
    sa.Column('list_type', sa.String(length=8), nullable=False),
    sa.Column('authority', sa.String(length=200), nullable=False),
    sa.Column('doc_no', sa.String(length=128), nullable=False),
    sa.Column('basis', sa.Text(), nullable=False),
    sa.Column('record_id', ID, nullable=True),
    sa.Column('listed_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('end_reason', sa.String(length=16), nullable=True),
    sa.Column('end_note', sa.Text(), nullable=True),
    sa.Column('end_doc_no', sa.String(length=128), nullable=True),
    sa.Column('end_case_id', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.ForeignKeyConstraint(['proposal_id'], ['list_proposal.id'], name=op.f('fk_list_entry_proposal_id_list_proposal')),
    sa.ForeignKeyConstraint(['record_id'], ['record.id'], name=op.f('fk_list_entry_record_id_record')),
    sa.ForeignKeyConstraint(['subject_id'], ['subject.id'], name=op.f('fk_list_entry_subject_id_subject')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_list_entry')),
    sa.UniqueConstraint('proposal_id', name=op.f('uq_list_entry_proposal_id'))
    )
    op.create_index('ix_list_entry_kind', 'list_entry', ['kind_code', 'listed_on'], unique=False)
    op.create_index(op.f('ix_list_entry_record_id'), 'list_entry', ['record_id'], unique=False)
    op.create_index(op.f('ix_list_entry_subject_id'), 'list_entry', ['subject_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_list_entry_subject_id'), table_name='list_entry')
    op.drop_index(op.f('ix_list_entry_record_id'), table_name='list_entry')
    op.drop_index('ix_list_entry_kind', table_name='list_entry')
    op.drop_table('list_entry')
    op.drop_index(op.f('ix_list_proposal_subject_id'), table_name='list_proposal')
    op.drop_index('ix_list_proposal_status', table_name='list_proposal')
    op.drop_table('list_proposal')
