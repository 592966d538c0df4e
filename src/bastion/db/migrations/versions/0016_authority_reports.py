"""reports to authorities beyond NCMEC (POCSO Rule 11 packages, hotlines): built, delivered, acknowledged

Revision ID: 0016_authority_reports
Revises: 0015_india_review
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bastion.db.base

revision = "0016_authority_reports"
down_revision = "0015_india_review"
branch_labels = None
depends_on = None


def upgrade() -> None:
    big = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    utc = bastion.db.base.UTCDateTime(timezone=True)
    op.create_table(
        "authority_reports",
        sa.Column("id", big, nullable=False),
        sa.Column("case_id", big, nullable=False),
        sa.Column("destination", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("evidence_id", big, nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("built_at", utc, nullable=False),
        sa.Column("built_by", sa.String(length=200), nullable=False),
        sa.Column("delivered_at", utc, nullable=True),
        sa.Column("delivered_by", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=100), nullable=False),
        sa.Column("delivery_reference", sa.Text(), nullable=False),
        sa.Column("acknowledgement", sa.String(length=200), nullable=False),
        sa.Column("acknowledged_at", utc, nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_authority_reports_case_id_cases"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_authority_reports")),
    )
    with op.batch_alter_table("authority_reports") as batch:
        batch.create_index(batch.f("ix_authority_reports_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("authority_reports") as batch:
        batch.drop_index(batch.f("ix_authority_reports_case_id"))
    op.drop_table("authority_reports")
