"""Join the branches of the hardening and workspace work: batch ids and upload bounds, rate
limits and identity keys (and, as they land, notifications and the audit seal).

Revision ID: 0033_session_merge
Revises: 0027_notifications, 0028_audit_seal, 0029_uploads, 0030_exposure
"""

revision = '0033_session_merge'
down_revision = ('0027_notifications', '0028_audit_seal', '0029_uploads', '0030_exposure')
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
