"""join the objections, repair and lists branches (built side by side on 0006_rights)

Revision ID: 0010_rights_merge
Revises: 0007_objections, 0008_repair, 0009_lists
Create Date: 2026-11-22 14:20:00
"""

revision = '0010_rights_merge'
down_revision = ('0007_objections', '0008_repair', '0009_lists')
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
