"""exchange share-back: what each exchange shares, and the contributions outbox

Revision ID: 0028_xchg
Revises: 0027_ops
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bastion.db.base

revision = "0028_xchg"
down_revision = "0027_ops"
branch_labels = None
depends_on = None


def upgrade() -> None:
    big = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    utc = bastion.db.base.UTCDateTime(timezone=True)
    op.add_column("exchanges", sa.Column("share_json", sa.Text(), server_default="{}", nullable=False))
    op.add_column("exchanges", sa.Column("share_since", utc, nullable=True))
    op.create_table(
        "exchange_contributions",
        sa.Column("id", big, nullable=False),
        sa.Column("exchange_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("case_item_id", big, nullable=True),
        sa.Column("entry_id", big, nullable=True),
        sa.Column("upstream_id", sa.String(length=255), nullable=False),
        sa.Column("signal_type", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("proposer_id", sa.Integer(), nullable=True),
        sa.Column("approver_id", sa.Integer(), nullable=True),
        sa.Column("approved_by", sa.String(length=200), nullable=False),
        sa.Column("approved_at", utc, nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("finished_at", utc, nullable=True),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", utc, nullable=False),
        sa.Column("lease_until", utc, nullable=True),
        sa.Column("leased_by", sa.String(length=100), nullable=False),
        sa.Column("lease_token", sa.String(length=32), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", utc, nullable=False),
        sa.Column("updated_at", utc, nullable=False),
        sa.ForeignKeyConstraint(["exchange_id"], ["exchanges.id"],
                                name=op.f("fk_exchange_contributions_exchange_id_exchanges"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_contributions")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_exchange_contributions_idempotency_key")),
    )
    op.create_index("ix_exchange_contributions_status_due", "exchange_contributions", ["status", "next_attempt_at"])
    op.create_index("ix_exchange_contributions_exchange_item", "exchange_contributions", ["exchange_id", "case_item_id"])
    op.create_index("ix_exchange_contributions_exchange_entry", "exchange_contributions", ["exchange_id", "entry_id"])
    op.create_index(op.f("ix_exchange_contributions_subject"), "exchange_contributions", ["subject"])


def downgrade() -> None:
    op.drop_table("exchange_contributions")
    with op.batch_alter_table("exchanges") as batch_op:
        batch_op.drop_column("share_since")
        batch_op.drop_column("share_json")
