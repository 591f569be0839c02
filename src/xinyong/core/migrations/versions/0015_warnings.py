"""warnings: credit risk warnings (信用风险预警) and the departments they are addressed to

Revision ID: 0015_warnings
Revises: 0013_feedback
Create Date: 2026-11-22 16:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0015_warnings'
down_revision = '0013_feedback'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('risk_warning',
    sa.Column('id', ID, nullable=False),
    sa.Column('rule_code', sa.String(length=64), nullable=False),
    sa.Column('rule_name', sa.String(length=200), nullable=False),
    sa.Column('rule_kind', sa.String(length=32), nullable=False),
    sa.Column('threshold', sa.BigInteger(), nullable=False),
    sa.Column('severity', sa.String(length=8), nullable=False),
    sa.Column('subject_id', ID, nullable=False),
    sa.Column('open_subject_id', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('facts', sa.Text(), nullable=False),
    sa.Column('mark', sa.BigInteger(), nullable=True),
    sa.Column('mark_entry', sa.BigInteger(), nullable=True),
    sa.Column('raised_at', sa.DateTime(), nullable=False),
    sa.Column('raised_by', sa.String(length=128), nullable=False),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('closed_by', sa.String(length=128), nullable=True),
    sa.Column('close_department', sa.String(length=200), nullable=True),
    sa.Column('close_action', sa.String(length=32), nullable=True),
    sa.Column('close_note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['subject_id'], ['subject.id'], name=op.f('fk_risk_warning_subject_id_subject')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_warning')),
    sa.UniqueConstraint('rule_code', 'open_subject_id', name='uq_risk_warning_rule_code_open_subject_id')
    )
    op.create_index('ix_risk_warning_status_id', 'risk_warning', ['status', 'id'], unique=False)
    op.create_index(op.f('ix_risk_warning_subject_id'), 'risk_warning', ['subject_id'], unique=False)
    op.create_table('risk_warning_recipient',
    sa.Column('id', ID, nullable=False),
    sa.Column('warning_id', ID, nullable=False),
    sa.Column('department', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['warning_id'], ['risk_warning.id'],
                            name=op.f('fk_risk_warning_recipient_warning_id_risk_warning')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_warning_recipient')),
    sa.UniqueConstraint('warning_id', 'department', name='uq_risk_warning_recipient_warning_id_department')
    )
    op.create_index('ix_risk_warning_recipient_department', 'risk_warning_recipient',
                    ['department', 'warning_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_risk_warning_recipient_department', table_name='risk_warning_recipient')
    op.drop_table('risk_warning_recipient')
    op.drop_index(op.f('ix_risk_warning_subject_id'), table_name='risk_warning')
    op.drop_index('ix_risk_warning_status_id', table_name='risk_warning')
    op.drop_table('risk_warning')
