"""policy editions: what was read from each uploaded policy, as reviewed by an admin

Revision ID: 0003_policy_editions
Revises: 0002_session_epoch
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_policy_editions"
down_revision = "0002_session_epoch"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "policy_editions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("owner_organisation_id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("edition", sa.Integer(), nullable=True),
        sa.Column("source_filename", sa.String(length=255), nullable=False),
        sa.Column("source_format", sa.String(length=10), nullable=False),
        sa.Column("source_sha256", sa.String(length=64), nullable=False),
        sa.Column("source_text", sa.Text(), nullable=False),
        sa.Column("parsed", sa.JSON(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.Column("corrections", sa.JSON(), nullable=False),
        sa.Column("correction_reason", sa.Text(), nullable=True),
        sa.Column("corrected_by_id", sa.Integer(), nullable=True),
        sa.Column("corrected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_by_id", sa.Integer(), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('draft','current','superseded','discarded')", name=op.f("ck_policy_editions_state")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.id"], name=op.f("fk_policy_editions_organisation_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["owner_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_policy_editions_owner_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["corrected_by_id"], ["users.id"], name=op.f("fk_policy_editions_corrected_by_id_users")
        ),
        sa.ForeignKeyConstraint(["uploaded_by_id"], ["users.id"], name=op.f("fk_policy_editions_uploaded_by_id_users")),
        sa.ForeignKeyConstraint(["accepted_by_id"], ["users.id"], name=op.f("fk_policy_editions_accepted_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_editions")),
    )
    with op.batch_alter_table("policy_editions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_policy_editions_organisation_id"), ["organisation_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_policy_editions_owner_organisation_id"), ["owner_organisation_id"], unique=False
        )

    op.create_table(
        "invitation_policy_editions",
        sa.Column("invitation_id", sa.Integer(), nullable=False),
        sa.Column("policy_edition_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["invitation_id"], ["invitations.id"], name=op.f("fk_invitation_policy_editions_invitation_id_invitations")
        ),
        sa.ForeignKeyConstraint(
            ["policy_edition_id"],
            ["policy_editions.id"],
            name=op.f("fk_invitation_policy_editions_policy_edition_id_policy_editions"),
        ),
        sa.PrimaryKeyConstraint("invitation_id", name=op.f("pk_invitation_policy_editions")),
    )
    with op.batch_alter_table("invitation_policy_editions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invitation_policy_editions_policy_edition_id"), ["policy_edition_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("invitation_policy_editions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invitation_policy_editions_policy_edition_id"))
    op.drop_table("invitation_policy_editions")
    with op.batch_alter_table("policy_editions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_policy_editions_owner_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_policy_editions_organisation_id"))
    op.drop_table("policy_editions")
