"""exposure: shared rate-limit counters; natural persons' keys made keyed hashes

Revision ID: 0030_exposure
Revises: 0026_hardening_merge
Create Date: 2026-12-04 04:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0030_exposure'
down_revision = '0026_hardening_merge'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'rate_limit_window',
        sa.Column('key', sa.String(length=160), nullable=False),
        sa.Column('window_start', sa.BigInteger(), nullable=False),
        sa.Column('hits', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('key', 'window_start', name=op.f('pk_rate_limit_window')),
    )
    op.create_index('ix_rate_limit_window_window_start', 'rate_limit_window', ['window_start'])


def downgrade() -> None:
    op.drop_index('ix_rate_limit_window_window_start', table_name='rate_limit_window')
    op.drop_table('rate_limit_window')
