"""the assessment loop: decisions (条件付承認 with 是正事項, 不承認), overrides, 決裁, clarification threads

Revision ID: 0012_loop
Revises: 0011_corrections
"""
import sqlalchemy as sa
from alembic import op

revision = "0012_loop"
down_revision = "0011_corrections"
branch_labels = None
depends_on = None

OLD_STATES = ("draft", "invited", "submitted", "approved", "rejected")
NEW_STATES = ("draft", "invited", "submitted", "clarification", "in_approval", "approved", "conditional",
              "rejected", "declined")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({','.join(repr(v) for v in values)})"


def upgrade() -> None:
    with op.batch_alter_table("engagements") as batch:
        batch.drop_constraint(op.f("ck_engagements_state"), type_="check")
        batch.create_check_constraint(op.f("ck_engagements_state"), _in("state", NEW_STATES))
    with op.batch_alter_table("responses") as batch:
        batch.add_column(sa.Column("reopened_questions", sa.JSON(), nullable=True))
        batch.drop_constraint(op.f("ck_responses_state"), type_="check")
        batch.create_check_constraint(op.f("ck_responses_state"), "state IN ('draft','submitted','reopened')")
    with op.batch_alter_table("assessments") as batch:
        batch.add_column(sa.Column("answers", sa.JSON(), nullable=True))
        batch.drop_constraint(op.f("ck_assessments_decision"), type_="check")
        batch.create_check_constraint(
            op.f("ck_assessments_decision"),
            "decision IS NULL OR decision IN ('approved','conditional','rejected','declined')",
        )
        batch.drop_constraint(op.f("uq_assessments_response_id"), type_="unique")
        batch.create_index(op.f("ix_assessments_response_id"), ["response_id"], unique=False)

    op.create_table(
        "remediations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.String(length=120), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("obligation", sa.Text(), nullable=False),
        sa.Column("open_days", sa.Integer(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=False),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("state IN ('open','reported','closed')", name=op.f("ck_remediations_state")),
        sa.ForeignKeyConstraint(["assessment_id"], ["assessments.id"],
                                name=op.f("fk_remediations_assessment_id_assessments")),
        sa.ForeignKeyConstraint(["closed_by_id"], ["users.id"], name=op.f("fk_remediations_closed_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remediations")),
    )
    with op.batch_alter_table("remediations") as batch:
        batch.create_index(op.f("ix_remediations_assessment_id"), ["assessment_id"], unique=False)
        batch.create_index(op.f("ix_remediations_deadline"), ["deadline"], unique=False)
        batch.create_index(op.f("ix_remediations_state"), ["state"], unique=False)

    op.create_table(
        "evaluation_overrides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.String(length=120), nullable=False),
        sa.Column("automatic", sa.String(length=20), nullable=True),
        sa.Column("evaluation", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("evaluation IN ('pass','partial','fail')", name=op.f("ck_evaluation_overrides_evaluation")),
        sa.ForeignKeyConstraint(["assessment_id"], ["assessments.id"],
                                name=op.f("fk_evaluation_overrides_assessment_id_assessments")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_evaluation_overrides_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evaluation_overrides")),
        sa.UniqueConstraint("assessment_id", "question_id", name="assessment_question"),
    )
    with op.batch_alter_table("evaluation_overrides") as batch:
        batch.create_index(op.f("ix_evaluation_overrides_assessment_id"), ["assessment_id"], unique=False)

    op.create_table(
        "approval_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.CheckConstraint("stage IN ('review','approve')", name=op.f("ck_approval_steps_stage")),
        sa.CheckConstraint("state IN ('pending','approved','returned')", name=op.f("ck_approval_steps_state")),
        sa.ForeignKeyConstraint(["assessment_id"], ["assessments.id"],
                                name=op.f("fk_approval_steps_assessment_id_assessments")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_approval_steps_user_id_users")),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"], name=op.f("fk_approval_steps_decided_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_steps")),
    )
    with op.batch_alter_table("approval_steps") as batch:
        batch.create_index(op.f("ix_approval_steps_assessment_id"), ["assessment_id"], unique=False)

    op.create_table(
        "clarifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.String(length=120), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("state IN ('open','answered')", name=op.f("ck_clarifications_state")),
        sa.ForeignKeyConstraint(["response_id"], ["responses.id"], name=op.f("fk_clarifications_response_id_responses")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clarifications")),
        sa.UniqueConstraint("response_id", "question_id", name="clarification_question"),
    )
    with op.batch_alter_table("clarifications") as batch:
        batch.create_index(op.f("ix_clarifications_response_id"), ["response_id"], unique=False)

    op.create_table(
        "clarification_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clarification_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=20), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("author_name", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("author IN ('reviewer','contractor')", name=op.f("ck_clarification_messages_author")),
        sa.ForeignKeyConstraint(["clarification_id"], ["clarifications.id"],
                                name=op.f("fk_clarification_messages_clarification_id_clarifications")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_clarification_messages_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clarification_messages")),
    )
    with op.batch_alter_table("clarification_messages") as batch:
        batch.create_index(op.f("ix_clarification_messages_clarification_id"), ["clarification_id"], unique=False)


def downgrade() -> None:
    for table in ("clarification_messages", "clarifications", "approval_steps", "evaluation_overrides", "remediations"):
        op.drop_table(table)
    with op.batch_alter_table("assessments") as batch:
        batch.drop_index(op.f("ix_assessments_response_id"))
        batch.create_unique_constraint(op.f("uq_assessments_response_id"), ["response_id"])
        batch.drop_constraint(op.f("ck_assessments_decision"), type_="check")
        batch.create_check_constraint(op.f("ck_assessments_decision"),
                                      "decision IS NULL OR decision IN ('approved','rejected')")
        batch.drop_column("answers")
    with op.batch_alter_table("responses") as batch:
        batch.drop_constraint(op.f("ck_responses_state"), type_="check")
        batch.create_check_constraint(op.f("ck_responses_state"), "state IN ('draft','submitted')")
        batch.drop_column("reopened_questions")
    with op.batch_alter_table("engagements") as batch:
        batch.drop_constraint(op.f("ck_engagements_state"), type_="check")
        batch.create_check_constraint(op.f("ck_engagements_state"), _in("state", OLD_STATES))
