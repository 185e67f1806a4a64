"""list indexes: one for every filter and sort of the staff lists (#9 item 1, #12 item 3)

Revision ID: 0007_list_indexes
Revises: 0006_api_keys
"""
from alembic import op

revision = "0007_list_indexes"
down_revision = "0006_api_keys"
branch_labels = None
depends_on = None

# (table, column): filters (state, 機密性, officer, due date, rating, risk, decision) and sorts
# (title, vendor name, submission time, score). References and 法人番号 already have their
# per-organisation unique indexes.
INDEXES = (
    ("vendors", "name"),
    ("engagements", "title"),
    ("engagements", "confidentiality"),
    ("engagements", "state"),
    ("engagement_officers", "officer_id"),
    ("invitations", "expires_at"),
    ("invitations", "state"),
    ("assessments", "score"),
    ("assessments", "rating"),
    ("assessments", "inherent_risk"),
    ("assessments", "decision"),
    ("assessments", "created_at"),
)


def upgrade() -> None:
    for table, column in INDEXES:
        op.create_index(op.f(f"ix_{table}_{column}"), table, [column], unique=False)


def downgrade() -> None:
    for table, column in reversed(INDEXES):
        op.drop_index(op.f(f"ix_{table}_{column}"), table_name=table)
