"""internal checks: the municipality's answers to its own questions (party: municipality)

Revision ID: 0014_banks
Revises: 0013_portal
"""
import sqlalchemy as sa
from alembic import op

revision = "0014_banks"
down_revision = "0013_portal"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "internal_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("engagement_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.String(length=120), nullable=False),
        sa.Column("question_text", sa.Text(), nullable=False),
        sa.Column("questionnaire_version", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("answered_by_id", sa.Integer(), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["answered_by_id"], ["users.id"],
                                name=op.f("fk_internal_checks_answered_by_id_users")),
        sa.ForeignKeyConstraint(["engagement_id"], ["engagements.id"],
                                name=op.f("fk_internal_checks_engagement_id_engagements")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_internal_checks")),
        sa.UniqueConstraint("engagement_id", "question_id", name="engagement_question"),
    )
    op.create_index(op.f("ix_internal_checks_engagement_id"), "internal_checks", ["engagement_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_internal_checks_engagement_id"), table_name="internal_checks")
    op.drop_table("internal_checks")
