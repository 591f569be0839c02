"""join the evaluation, warnings and sampling branches (built side by side on 0013_feedback)

Revision ID: 0017_supervision_merge
Revises: 0014_evaluation, 0015_warnings, 0016_sampling
Create Date: 2026-11-22 16:30:00
"""

revision = '0017_supervision_merge'
down_revision = ('0014_evaluation', '0015_warnings', '0016_sampling')
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
