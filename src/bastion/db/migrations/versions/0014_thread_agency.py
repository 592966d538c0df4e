"""legal desk: a message thread per request; officers vouched for by call-back; agency supervisors

Revision ID: 0014_thread_agency
Revises: 0013_reminders
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bastion.db.base

revision = "0014_thread_agency"
down_revision = "0013_reminders"
branch_labels = None
depends_on = None


def upgrade() -> None:
    big = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "legal_messages",
        sa.Column("id", big, nullable=False),
        sa.Column("request_id", big, nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("author_name", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("template", sa.String(length=64), nullable=False),
        sa.Column("reply_to", big, nullable=True),
        sa.Column("documents_json", sa.Text(), nullable=False),
        sa.Column("created_at", bastion.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_at", bastion.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["request_id"], ["legal_requests.id"],
                                name=op.f("fk_legal_messages_request_id_legal_requests"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_messages")),
    )
    with op.batch_alter_table("legal_messages") as batch:
        batch.create_index(batch.f("ix_legal_messages_request_id"), ["request_id"], unique=False)
    # Plain ADD COLUMN (no batch copy): SQLite would otherwise rebuild a table that requests point at.
    op.add_column("legal_requesters", sa.Column("vouched_by", sa.String(200), nullable=False, server_default=""))
    op.add_column("legal_requesters", sa.Column("vouched_at", bastion.db.base.UTCDateTime(timezone=True),
                                                nullable=True))
    op.add_column("legal_requesters", sa.Column("vouch_note", sa.Text(), nullable=False, server_default=""))
    op.add_column("legal_requesters", sa.Column("supervisor", sa.Boolean(), nullable=False,
                                                server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("legal_requesters") as batch:
        for column in ("supervisor", "vouch_note", "vouched_at", "vouched_by"):
            batch.drop_column(column)
    with op.batch_alter_table("legal_messages") as batch:
        batch.drop_index(batch.f("ix_legal_messages_request_id"))
    op.drop_table("legal_messages")
