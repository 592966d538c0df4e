"""rollup: daily detection totals for reports (one row per day, metric and bank or signal type); matches by time

Revision ID: 0031_rollup
Revises: 0030_queues
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0031_rollup"
down_revision = "0030_queues"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_daily_detection",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("metric", sa.String(24), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("n", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_scan_matches_found_at", "scan_matches", ["found_at"])


def downgrade() -> None:
    op.drop_index("ix_scan_matches_found_at", table_name="scan_matches")
    op.drop_table("report_daily_detection")
