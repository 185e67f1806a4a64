"""reminders: an invitation's due day (開庁日) and the log of every reminder and staff notice mailed

Revision ID: 0010_reminders
Revises: 0009_annex_signing
"""
import sqlalchemy as sa
from alembic import op

revision = "0010_reminders"
down_revision = "0009_annex_signing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("invitations") as batch:
        batch.add_column(sa.Column("due_on", sa.Date(), nullable=True))
    op.create_table(
        "mail_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("engagement_id", sa.Integer(), nullable=True),
        sa.Column("invitation_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"],
                                name=op.f("fk_mail_log_organisation_id_organisations")),
        sa.ForeignKeyConstraint(["engagement_id"], ["engagements.id"],
                                name=op.f("fk_mail_log_engagement_id_engagements")),
        sa.ForeignKeyConstraint(["invitation_id"], ["invitations.id"],
                                name=op.f("fk_mail_log_invitation_id_invitations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_log")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_mail_log_dedupe_key")),
    )
    op.create_index(op.f("ix_mail_log_organisation_id"), "mail_log", ["organisation_id"], unique=False)
    op.create_index(op.f("ix_mail_log_engagement_id"), "mail_log", ["engagement_id"], unique=False)
    op.create_index(op.f("ix_mail_log_invitation_id"), "mail_log", ["invitation_id"], unique=False)


def downgrade() -> None:
    for column in ("invitation_id", "engagement_id", "organisation_id"):
        op.drop_index(op.f(f"ix_mail_log_{column}"), table_name="mail_log")
    op.drop_table("mail_log")
    with op.batch_alter_table("invitations") as batch:
        batch.drop_column("due_on")
