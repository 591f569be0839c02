"""evaluation: the rules fingerprint of a run; the scorecard versions a history row compares

Revision ID: 0018_evaluation_history
Revises: 0017_supervision_merge
Create Date: 2026-11-22 16:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0018_evaluation_history'
down_revision = '0017_supervision_merge'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('evaluation_run', sa.Column('rules_hash', sa.String(length=64), nullable=True))
    op.add_column('evaluation_change', sa.Column('version', sa.String(length=32), nullable=True))
    op.add_column('evaluation_change', sa.Column('previous_version', sa.String(length=32), nullable=True))
    # the version of older rows is their run's; the version they were compared with is unknown
    op.execute("UPDATE evaluation_change SET version = (SELECT r.version FROM evaluation_run r "
               "WHERE r.id = evaluation_change.run_id)")


def downgrade() -> None:
    op.drop_column('evaluation_change', 'previous_version')
    op.drop_column('evaluation_change', 'version')
    op.drop_column('evaluation_run', 'rules_hash')
