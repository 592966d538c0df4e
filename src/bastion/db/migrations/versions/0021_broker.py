"""broker: the task outbox the relay publishes, and asynchronous scan jobs

Revision ID: 0021_broker
Revises: 0020_exchanges
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bastion.db.base

revision = "0021_broker"
down_revision = "0020_exchanges"
branch_labels = None
depends_on = None


def upgrade() -> None:
    big = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    utc = bastion.db.base.UTCDateTime(timezone=True)
    op.create_table(
        "task_outbox",
        sa.Column("id", big, nullable=False),
        sa.Column("task", sa.String(length=100), nullable=False),
        sa.Column("queue", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("publish_attempts", sa.Integer(), nullable=False),
        sa.Column("lease_until", utc, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", utc, nullable=False),
        sa.Column("published_at", utc, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_outbox")),
    )
    op.create_index("ix_task_outbox_status_id", "task_outbox", ["status", "id"], unique=False)
    op.create_table(
        "scan_jobs",
        sa.Column("id", big, nullable=False),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("media", sa.LargeBinary(), nullable=True),
        sa.Column("media_sha256", sa.String(length=64), nullable=False),
        sa.Column("content_id", sa.String(length=255), nullable=False),
        sa.Column("account_id", sa.String(length=255), nullable=False),
        sa.Column("uploaded_at", utc, nullable=True),
        sa.Column("client_ip", sa.String(length=64), nullable=False),
        sa.Column("metadata_json", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("worker", sa.String(length=100), nullable=False),
        sa.Column("scan_id", big, nullable=True),
        sa.Column("webhook_status", sa.String(length=16), nullable=False),
        sa.Column("webhook_sent_at", utc, nullable=True),
        sa.Column("submitted_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", utc, nullable=False),
        sa.Column("started_at", utc, nullable=True),
        sa.Column("finished_at", utc, nullable=True),
        sa.ForeignKeyConstraint(["scan_id"], ["scans.id"], name=op.f("fk_scan_jobs_scan_id_scans"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scan_jobs")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_scan_jobs_idempotency_key")),
        sa.UniqueConstraint("public_id", name=op.f("uq_scan_jobs_public_id")),
    )
    op.create_index("ix_scan_jobs_status_id", "scan_jobs", ["status", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_scan_jobs_status_id", table_name="scan_jobs")
    op.drop_table("scan_jobs")
    op.drop_index("ix_task_outbox_status_id", table_name="task_outbox")
    op.drop_table("task_outbox")
