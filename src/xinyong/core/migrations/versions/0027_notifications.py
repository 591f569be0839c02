"""notifications of enterprises' cases

Revision ID: 0027_notifications
Revises: 0026_hardening_merge
Create Date: 2026-12-04 04:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0027_notifications'
down_revision = '0026_hardening_merge'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'notification',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('subject_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('event', sa.String(length=48), nullable=False),
        sa.Column('case_type', sa.String(length=24), nullable=False),
        sa.Column('case_ref', sa.String(length=32), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('link', sa.String(length=300), nullable=False),
        sa.Column('action_needed', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('read_at', sa.DateTime(), nullable=True),
        sa.Column('read_by', sa.String(length=128), nullable=True),
        sa.Column('delivered_at', sa.DateTime(), nullable=True),
        sa.Column('channel', sa.String(length=100), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['subject_id'], ['subject.id'], name='fk_notification_subject_id_subject'),
        sa.PrimaryKeyConstraint('id', name='pk_notification'),
    )
    op.create_index('ix_notification_subject', 'notification', ['subject_id', 'created_at'])
    op.create_index('ix_notification_pending', 'notification', ['delivered_at', 'id'])


def downgrade() -> None:
    op.drop_index('ix_notification_pending', table_name='notification')
    op.drop_index('ix_notification_subject', table_name='notification')
    op.drop_table('notification')
