"""vreview: seconds of video a reviewer watched each day, beside the items they revealed

Revision ID: 0026_vreview
Revises: 0025_video
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026_vreview"
down_revision = "0025_video"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("reviewer_exposure", sa.Column("video_seconds", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("reviewer_exposure") as batch:
        batch.drop_column("video_seconds")
