"""users.session_epoch: server-side invalidation of session cookies (logout, password change)

Revision ID: 0002_session_epoch
Revises: 0001
Create Date: 2026-12-01 22:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0002_session_epoch"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_epoch", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("session_epoch")
