"""portal: the municipal contact named on an invitation, a colleague it was handed to, the expiry
warning, and the answers carried over from the vendor's last approved assessment

Revision ID: 0013_portal
Revises: 0012_loop
"""
import sqlalchemy as sa
from alembic import op

revision = "0013_portal"
down_revision = "0012_loop"
branch_labels = None
depends_on = None

CONTACT = (("contact_department", 200), ("contact_name", 100), ("contact_phone", 40), ("contact_email", 254))


def upgrade() -> None:
    with op.batch_alter_table("invitations") as batch:
        for name, length in CONTACT:
            batch.add_column(sa.Column(name, sa.String(length=length), nullable=False, server_default=""))
        batch.add_column(sa.Column("delegate_name", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("delegate_email", sa.String(length=254), nullable=True))
        batch.add_column(sa.Column("expiry_warned_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("responses") as batch:
        batch.add_column(sa.Column("carried_over", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("responses") as batch:
        batch.drop_column("carried_over")
    with op.batch_alter_table("invitations") as batch:
        for column in ("expiry_warned_at", "delegate_email", "delegate_name", *(n for n, _ in CONTACT)):
            batch.drop_column(column)
