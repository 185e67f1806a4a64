"""corrections: vendors and engagements are archived (never deleted); an engagement whose
classification changed after an invitation was sent is marked as needing a new one

Revision ID: 0011_corrections
Revises: 0010_reminders
"""
import sqlalchemy as sa
from alembic import op

revision = "0011_corrections"
down_revision = "0010_reminders"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy on SQLite: other tables' foreign keys point at these rows).
    op.add_column("vendors", sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("engagements", sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("engagements", sa.Column("needs_new_invitation", sa.Boolean(), nullable=False,
                                           server_default=sa.false()))
    # The 所管課 filter looks officers up by department within the organisation.
    op.create_index("ix_officers_organisation_department", "officers", ["organisation_id", "department"])


def downgrade() -> None:
    op.drop_index("ix_officers_organisation_department", table_name="officers")
    with op.batch_alter_table("engagements") as batch:
        batch.drop_column("needs_new_invitation")
        batch.drop_column("archived_at")
    with op.batch_alter_table("vendors") as batch:
        batch.drop_column("archived_at")
