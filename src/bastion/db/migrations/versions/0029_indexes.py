"""indexes: case items by bank entry and decision time (share-back), task outbox by publication time (operations)

Revision ID: 0029_indexes
Revises: 0028_xchg
"""
from __future__ import annotations

from alembic import op

revision = "0029_indexes"
down_revision = "0028_xchg"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_case_items_entry_id", "case_items", ["entry_id"])
    op.create_index("ix_case_items_decided_at", "case_items", ["decided_at"])
    op.create_index("ix_task_outbox_status_published_at", "task_outbox", ["status", "published_at"])


def downgrade() -> None:
    op.drop_index("ix_task_outbox_status_published_at", table_name="task_outbox")
    op.drop_index("ix_case_items_decided_at", table_name="case_items")
    op.drop_index("ix_case_items_entry_id", table_name="case_items")
