"""publicity windows on records

Revision ID: 0004_publicity
Revises: 0003_accounts
Create Date: 2026-11-23 09:00:00

Records stored before this revision get `published = false` and no regime: they are not
shown until `xinyong publicity recompute` has given them their windows.
"""

import sqlalchemy as sa
from alembic import op

revision = '0004_publicity'
down_revision = '0003_accounts'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('record') as batch:
        batch.add_column(sa.Column('publicity_tier', sa.String(length=8), nullable=True))
        batch.add_column(sa.Column('published', sa.Boolean(), server_default=sa.false(),
                                   nullable=False))
        batch.add_column(sa.Column('publicity_start', sa.Date(), nullable=True))
        batch.add_column(sa.Column('publicity_repair_from', sa.Date(), nullable=True))
        batch.add_column(sa.Column('publicity_end', sa.Date(), nullable=True))
        batch.add_column(sa.Column('publicity_regime', sa.String(length=16), nullable=True))
    op.create_index('ix_record_publicity', 'record', ['item_code', 'published', 'decision_date'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_record_publicity', table_name='record')
    with op.batch_alter_table('record') as batch:
        for column in ('publicity_regime', 'publicity_end', 'publicity_repair_from',
                       'publicity_start', 'published', 'publicity_tier'):
            batch.drop_column(column)
