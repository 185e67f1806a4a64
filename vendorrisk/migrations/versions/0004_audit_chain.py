"""audit chain: one keyed chain per organisation, sequence numbers, chain heads

Existing rows are kept exactly as written (nothing is re-hashed): they become the start of their
organisation's chain with scheme 'sha256' (the old unkeyed, global chain) and sequence numbers in
the order they were written. Each chain head is set so that the first keyed event of a chain carries
the hash of the newest legacy event as its prev_hash; that keyed event (and the first anchor) then
seals every legacy row, because the legacy hashes are cumulative.

Revision ID: 0004_audit_chain
Revises: 0003_policy_editions
"""
from alembic import op
import sqlalchemy as sa


revision = "0004_audit_chain"
down_revision = "0003_policy_editions"
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def upgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chain", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("scheme", sa.String(length=16), nullable=True))

    conn = op.get_bind()
    events = sa.table(
        "audit_events",
        sa.column("id", sa.Integer()), sa.column("organisation_id", sa.Integer()),
        sa.column("chain", sa.Integer()), sa.column("seq", sa.Integer()),
        sa.column("scheme", sa.String()), sa.column("hash", sa.String()),
    )
    rows = conn.execute(sa.select(events.c.id, events.c.organisation_id, events.c.hash).order_by(events.c.id)).all()
    counters: dict[int, int] = {}
    updates = []
    for row in rows:
        chain = row.organisation_id or 0
        counters[chain] = counters.get(chain, 0) + 1
        updates.append({"b_id": row.id, "b_chain": chain, "b_seq": counters[chain]})
    if updates:
        conn.execute(
            events.update().where(events.c.id == sa.bindparam("b_id"))
            .values(chain=sa.bindparam("b_chain"), seq=sa.bindparam("b_seq"), scheme="sha256"),
            updates,
        )

    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.alter_column("chain", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("seq", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("scheme", existing_type=sa.String(length=16), nullable=False)
        batch_op.create_unique_constraint("audit_chain_seq", ["chain", "seq"])
        batch_op.create_check_constraint(op.f("ck_audit_events_scheme"), "scheme IN ('sha256','hmac-sha256')")

    heads = op.create_table(
        "audit_chain_heads",
        sa.Column("chain", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("chain", name=op.f("pk_audit_chain_heads")),
    )
    if counters:
        legacy_head = rows[-1].hash
        op.bulk_insert(heads, [{"chain": c, "seq": n, "last_hash": legacy_head} for c, n in sorted(counters.items())])


def downgrade() -> None:
    op.drop_table("audit_chain_heads")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_audit_events_scheme"), type_="check")
        batch_op.drop_constraint("audit_chain_seq", type_="unique")
        batch_op.drop_column("scheme")
        batch_op.drop_column("seq")
        batch_op.drop_column("chain")
