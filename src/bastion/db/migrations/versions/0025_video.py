"""video: vPDQ signals in banks (their frames in video_signals) and each bank's video-match percentages

Revision ID: 0025_video
Revises: 0024_audit_verify
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025_video"
down_revision = "0024_audit_verify"
branch_labels = None
depends_on = None


def upgrade() -> None:
    big = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.add_column("banks", sa.Column("vpdq_query_match_percent", sa.Float(), nullable=False, server_default="80"))
    op.add_column("banks", sa.Column("vpdq_compared_match_percent", sa.Float(), nullable=False, server_default="0"))
    op.create_table(
        "video_signals",
        sa.Column("signal_id", big, nullable=False),
        sa.Column("features", sa.Text(), nullable=False),
        sa.Column("frame_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["signal_id"], ["entry_signals.id"], name=op.f("fk_video_signals_signal_id_entry_signals"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("signal_id", name=op.f("pk_video_signals")),
    )


def downgrade() -> None:
    op.drop_table("video_signals")
    with op.batch_alter_table("banks") as batch:
        batch.drop_column("vpdq_compared_match_percent")
        batch.drop_column("vpdq_query_match_percent")
