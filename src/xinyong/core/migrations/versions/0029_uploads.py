"""batch ids allocated outside the batch's transaction, so a rolled-back batch's id is never
given to the next one

Revision ID: 0029_uploads
Revises: 0026_hardening_merge
Create Date: 2026-12-04 04:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0029_uploads'
down_revision = '0026_hardening_merge'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'batch_id_allocation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('last_id', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.execute("INSERT INTO batch_id_allocation (id, last_id) "
               "SELECT 1, COALESCE(MAX(id), 0) FROM batch")


def downgrade() -> None:
    op.drop_table('batch_id_allocation')
