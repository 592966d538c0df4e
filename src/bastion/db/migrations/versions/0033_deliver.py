"""deliver: a fan-out chunk counts its tries and keeps its last error, so one that keeps failing is dead-lettered

Revision ID: 0033_deliver
Revises: 0032_legal14
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0033_deliver"
down_revision = "0032_legal14"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("fanout_job_chunks") as batch:
        batch.add_column(sa.Column("tries", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("last_error", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("fanout_job_chunks") as batch:
        batch.drop_column("last_error")
        batch.drop_column("tries")
