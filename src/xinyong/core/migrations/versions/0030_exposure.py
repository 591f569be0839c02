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
    # Natural persons' keys were an unsalted SHA-256 of the identity document ("P:"), which
    # hashing every possible number reverses. Rewrite them as the keyed hash ("P2:") from the
    # document kept with each subject, so a person reported again still matches. The secret
    # lives outside the database (XINYONG_IDENTITY_KEY_FILE) and is made here if need be.
    from xinyong.subjects.identity import rekey_legacy

    rekey_legacy(op.get_bind())


def downgrade() -> None:
    # The keyed person keys stay: the legacy digest is what this revision removes on purpose.
    op.drop_index('ix_rate_limit_window_window_start', table_name='rate_limit_window')
    op.drop_table('rate_limit_window')
