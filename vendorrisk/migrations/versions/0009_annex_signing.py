"""annex signing: legal records the date a version was signed and the uploaded scan

Revision ID: 0009_annex_signing
Revises: 0008_answer_versions
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_annex_signing"
down_revision = "0008_answer_versions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("annexes") as batch:
        batch.add_column(sa.Column("signed_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("signed_scan", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("signed_scan_name", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("signed_scan_mimetype", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("signed_by_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_annexes_signed_by_id_users"), "users", ["signed_by_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("annexes") as batch:
        batch.drop_constraint(op.f("fk_annexes_signed_by_id_users"), type_="foreignkey")
        for column in ("signed_by_id", "signed_scan_mimetype", "signed_scan_name", "signed_scan", "signed_on"):
            batch.drop_column(column)
