"""invitations: expiry_warned_at goes (the reminder before the deadline is the one expiry notice;
`vendorrisk reminders send` logs it in mail_log)

Revision ID: 0016_one_expiry_notice
Revises: 0015_review
"""
import sqlalchemy as sa
from alembic import op

revision = "0016_one_expiry_notice"
down_revision = "0015_review"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("invitations") as batch:
        batch.drop_column("expiry_warned_at")


def downgrade() -> None:
    with op.batch_alter_table("invitations") as batch:
        batch.add_column(sa.Column("expiry_warned_at", sa.DateTime(timezone=True), nullable=True))
