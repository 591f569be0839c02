"""Join the sign-in protection and department registry branches.

Revision ID: 0026_hardening_merge
Revises: 0019_sign_in, 0021_departments
"""

revision = '0026_hardening_merge'
down_revision = ('0019_sign_in', '0021_departments')
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
