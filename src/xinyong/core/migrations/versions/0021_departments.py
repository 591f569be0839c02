"""departments registry; payload hashes to tell stale re-uploads from corrections

Revision ID: 0021_departments
Revises: 0018_evaluation_history
Create Date: 2026-12-03 19:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0021_departments'
down_revision = '0018_evaluation_history'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'department',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('aliases', sa.Text(), nullable=False),
        sa.Column('reports_for', sa.Text(), nullable=False),
        sa.Column('any_authority_for', sa.Text(), nullable=False),
        sa.Column('uscc', sa.String(length=18), nullable=True),
        sa.Column('registered_at', sa.DateTime(), nullable=False),
        sa.Column('registered_by', sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name'),
    )
    # Versions stored before this revision have no hash: they are compared by their payload.
    op.add_column('record', sa.Column('payload_hash', sa.BigInteger(), nullable=True))
    op.add_column('rejection', sa.Column('source_key', sa.BigInteger(), nullable=True))
    op.add_column('rejection', sa.Column('payload_hash', sa.BigInteger(), nullable=True))
    op.create_index('ix_rejection_source_key', 'rejection', ['source_key'], unique=False)
    op.add_column('batch', sa.Column('stale', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    op.drop_column('batch', 'stale')
    op.drop_index('ix_rejection_source_key', table_name='rejection')
    op.drop_column('rejection', 'payload_hash')
    op.drop_column('rejection', 'source_key')
    op.drop_column('record', 'payload_hash')
    op.drop_table('department')
