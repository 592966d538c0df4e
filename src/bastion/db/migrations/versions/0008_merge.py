"""merge the branches of authentication hardening and legal production

Revision ID: 0008_merge
Revises: 0007_auth, 0007_lprod
"""
from __future__ import annotations

revision = "0008_merge"
down_revision = ("0007_auth", "0007_lprod")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
