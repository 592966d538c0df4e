"""merge the review-and-act branches: cases, evidence, actions

Revision ID: 0004_merge_review
Revises: 0003_actions, 0003_cases, 0003_evidence
"""
from __future__ import annotations

revision = "0004_merge_review"
down_revision = ("0003_actions", "0003_cases", "0003_evidence")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
