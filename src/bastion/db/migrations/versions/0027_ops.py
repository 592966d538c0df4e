"""ops: fan-out jobs (rescans, bulk imports) and their chunks

Revision ID: 0027_ops
Revises: 0026_vreview
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bastion.db.base

revision = "0027_ops"
down_revision = "0026_vreview"
branch_labels = None
depends_on = None


def upgrade() -> None:
    big = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    utc = bastion.db.base.UTCDateTime(timezone=True)
    op.create_table(
        "fanout_jobs",
        sa.Column("id", big, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("chunks_total", sa.Integer(), nullable=False),
        sa.Column("chunks_done", sa.Integer(), nullable=False),
        sa.Column("checkpoint", sa.Integer(), nullable=False),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.Column("params_json", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", utc, nullable=False),
        sa.Column("started_at", utc, nullable=True),
        sa.Column("finished_at", utc, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fanout_jobs")),
    )
    op.create_index("ix_fanout_jobs_state_id", "fanout_jobs", ["state", "id"], unique=False)
    op.create_table(
        "fanout_job_chunks",
        sa.Column("id", big, nullable=False),
        sa.Column("job_id", big, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("lo_id", big, nullable=False),
        sa.Column("hi_id", big, nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("result_json", sa.Text(), nullable=False),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("dispatched_at", utc, nullable=True),
        sa.Column("finished_at", utc, nullable=True),
        sa.ForeignKeyConstraint(["job_id"], ["fanout_jobs.id"], name=op.f("fk_fanout_job_chunks_job_id_fanout_jobs"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fanout_job_chunks")),
        sa.UniqueConstraint("job_id", "seq", name=op.f("uq_fanout_job_chunks_job_id")),
    )
    op.create_index("ix_fanout_job_chunks_job_state", "fanout_job_chunks", ["job_id", "state"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_fanout_job_chunks_job_state", table_name="fanout_job_chunks")
    op.drop_table("fanout_job_chunks")
    op.drop_index("ix_fanout_jobs_state_id", table_name="fanout_jobs")
    op.drop_table("fanout_jobs")
