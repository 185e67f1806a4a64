"""engagements: 次回の再評価日 (review_on)

Revision ID: 0015_review
Revises: 0014_banks
"""
import sqlalchemy as sa
from alembic import op

revision = "0015_review"
down_revision = "0014_banks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("engagements") as batch:
        batch.add_column(sa.Column("review_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("engagements") as batch:
        batch.drop_column("review_on")
