"""job runs: background jobs (mail, bulk annex issue) with their state and last error

Revision ID: 0005_job_runs
Revises: 0004_audit_chain
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_job_runs"
down_revision = "0004_audit_chain"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("state IN ('queued','running','retrying','done','failed')", name=op.f("ck_job_runs_state")),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"],
                                name=op.f("fk_job_runs_organisation_id_organisations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_runs")),
        sa.UniqueConstraint("key", name=op.f("uq_job_runs_key")),
    )
    op.create_index(op.f("ix_job_runs_organisation_id"), "job_runs", ["organisation_id"], unique=False)
    op.create_index(op.f("ix_job_runs_state"), "job_runs", ["state"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_job_runs_state"), table_name="job_runs")
    op.drop_index(op.f("ix_job_runs_organisation_id"), table_name="job_runs")
    op.drop_table("job_runs")
