"""audit: whole-chain verifications, so the audit page walks only the records written since the last one

Revision ID: 0024_audit_verify
Revises: 0023_dsa
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bastion.db.base

revision = "0024_audit_verify"
down_revision = "0023_dsa"
branch_labels = None
depends_on = None


def upgrade() -> None:
    big = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "audit_verifications",
        sa.Column("id", big, nullable=False),
        sa.Column("at", bastion.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("records", big, nullable=False),
        sa.Column("head_seq", big, nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("first_broken", big, nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_verifications")),
    )
    op.create_index(op.f("ix_audit_verifications_at"), "audit_verifications", ["at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_audit_verifications_at"), table_name="audit_verifications")
    op.drop_table("audit_verifications")
