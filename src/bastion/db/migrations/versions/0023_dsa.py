"""dsa: statements of reasons owed to the DSA Transparency Database and their submission state

Revision ID: 0023_dsa
Revises: 0022_workbench
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bastion.db.base

revision = "0023_dsa"
down_revision = "0022_workbench"
branch_labels = None
depends_on = None


def upgrade() -> None:
    big = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    utc = bastion.db.base.UTCDateTime(timezone=True)
    op.create_table(
        "dsa_statements",
        sa.Column("id", big, nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("puid", sa.String(length=500), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("held_reason", sa.Text(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("next_attempt_at", utc, nullable=True),
        sa.Column("uuid", sa.String(length=64), nullable=False),
        sa.Column("submitted_at", utc, nullable=True),
        sa.Column("created_at", utc, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dsa_statements")),
        sa.UniqueConstraint("notice_id", name=op.f("uq_dsa_statements_notice_id")),
        sa.UniqueConstraint("puid", name=op.f("uq_dsa_statements_puid")),
    )
    op.create_index(op.f("ix_dsa_statements_status"), "dsa_statements", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_dsa_statements_status"), table_name="dsa_statements")
    op.drop_table("dsa_statements")
