"""reports: versions of transparency and compliance reports (draft, approval, frozen publication)

Revision ID: 0019_report_versions
Revises: 0018_appeals
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bastion.db.base

revision = "0019_report_versions"
down_revision = "0018_appeals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    big = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    utc = bastion.db.base.UTCDateTime(timezone=True)
    op.create_table(
        "report_versions",
        sa.Column("id", big, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("provisional", sa.Boolean(), nullable=False),
        sa.Column("figures_json", sa.Text(), nullable=False),
        sa.Column("corrects", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("drafted_by", sa.String(length=200), nullable=False),
        sa.Column("drafted_by_id", sa.Integer(), nullable=True),
        sa.Column("drafted_at", utc, nullable=False),
        sa.Column("approved_by", sa.String(length=200), nullable=False),
        sa.Column("approved_by_id", sa.Integer(), nullable=True),
        sa.Column("approved_at", utc, nullable=True),
        sa.Column("published_by", sa.String(length=200), nullable=False),
        sa.Column("published_at", utc, nullable=True),
        sa.Column("csv_bytes", sa.LargeBinary(), nullable=True),
        sa.Column("json_bytes", sa.LargeBinary(), nullable=True),
        sa.Column("pdf_bytes", sa.LargeBinary(), nullable=True),
        sa.Column("sha256_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_versions")),
        sa.UniqueConstraint("kind", "period", "version", name="uq_report_versions_kind_period_version"),
    )
    op.create_index(op.f("ix_report_versions_kind"), "report_versions", ["kind"], unique=False)
    op.create_index(op.f("ix_report_versions_status"), "report_versions", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_report_versions_status"), table_name="report_versions")
    op.drop_index(op.f("ix_report_versions_kind"), table_name="report_versions")
    op.drop_table("report_versions")
