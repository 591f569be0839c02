"""sign-in: throttling and locks, TOTP second factor, idle sessions and halfway sign-ins

Revision ID: 0019_sign_in
Revises: 0018_evaluation_history
Create Date: 2026-11-24 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0019_sign_in'
down_revision = '0018_evaluation_history'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'sign_in_throttle',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('scope', sa.String(length=16), nullable=False),
        sa.Column('key', sa.String(length=128), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('last_failed_at', sa.DateTime(), nullable=False),
        sa.Column('locked_until', sa.DateTime(), nullable=True),
        sa.Column('refused', sa.Integer(), nullable=False),
        sa.Column('refused_reported_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_throttle')),
        sa.UniqueConstraint('scope', 'key', name='uq_sign_in_throttle_scope_key'),
    )
    with op.batch_alter_table('account') as batch:
        batch.add_column(sa.Column('password_changed_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('totp_secret', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('totp_enrolled_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('totp_last_step', sa.Integer(), nullable=True))
    with op.batch_alter_table('web_session') as batch:
        batch.add_column(sa.Column('last_seen_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('stage', sa.String(length=16), nullable=False,
                                   server_default='active'))


def downgrade() -> None:
    with op.batch_alter_table('web_session') as batch:
        batch.drop_column('stage')
        batch.drop_column('last_seen_at')
    with op.batch_alter_table('account') as batch:
        batch.drop_column('totp_last_step')
        batch.drop_column('totp_enrolled_at')
        batch.drop_column('totp_secret')
        batch.drop_column('password_changed_at')
    op.drop_table('sign_in_throttle')
