"""grievance desk: complaints and their timelines

Revision ID: 0017_complaints
Revises: 0016_authority_reports
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bastion.db.base

revision = "0017_complaints"
down_revision = "0016_authority_reports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    big = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    utc = bastion.db.base.UTCDateTime(timezone=True)
    op.create_table(
        "complaints",
        sa.Column("id", big, nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("status_token_hash", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("submitted_by", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=24), nullable=False),
        sa.Column("content_ref", sa.String(length=2000), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("contact_email", sa.String(length=320), nullable=False),
        sa.Column("jurisdiction", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("received_at", utc, nullable=False),
        sa.Column("acknowledged_at", utc, nullable=True),
        sa.Column("acted_at", utc, nullable=True),
        sa.Column("resolved_at", utc, nullable=True),
        sa.Column("outcome", sa.String(length=24), nullable=False),
        sa.Column("outcome_text", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"], name=op.f("fk_complaints_decided_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaints")),
        sa.UniqueConstraint("reference", name=op.f("uq_complaints_reference")),
    )
    with op.batch_alter_table("complaints") as batch:
        batch.create_index(batch.f("ix_complaints_status_token_hash"), ["status_token_hash"], unique=False)
        batch.create_index(batch.f("ix_complaints_status"), ["status"], unique=False)
    op.create_table(
        "complaint_events",
        sa.Column("id", big, nullable=False),
        sa.Column("complaint_id", big, nullable=False),
        sa.Column("at", utc, nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"],
                                name=op.f("fk_complaint_events_complaint_id_complaints"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_events")),
    )
    with op.batch_alter_table("complaint_events") as batch:
        batch.create_index(batch.f("ix_complaint_events_complaint_id"), ["complaint_id"], unique=False)


def downgrade() -> None:
    op.drop_table("complaint_events")
    op.drop_table("complaints")
