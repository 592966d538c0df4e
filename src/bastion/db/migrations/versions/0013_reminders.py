"""legal desk: reminders escalate (how many, and since when the request heads the queue)

Revision ID: 0013_reminders
Revises: 0012_notice_fields
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bastion.db.base

revision = "0013_reminders"
down_revision = "0012_notice_fields"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("legal_requests") as batch:
        batch.add_column(sa.Column("reminder_count", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("escalated_at", bastion.db.base.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("legal_requests") as batch:
        batch.drop_column("escalated_at")
        batch.drop_column("reminder_count")
