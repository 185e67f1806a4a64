"""answer versions: each answer carries a version so a stale save never overwrites a newer one

Revision ID: 0008_answer_versions
Revises: 0007_list_indexes
"""
import sqlalchemy as sa
from alembic import op

revision = "0008_answer_versions"
down_revision = "0007_list_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("answers") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("answers") as batch:
        batch.drop_column("version")
