"""merge the branches of reporting, mail and the legal desk

Revision ID: 0006_merge_legal
Revises: 0005_legal, 0005_mail, 0005_ncmec
"""
from __future__ import annotations

revision = "0006_merge_legal"
down_revision = ("0005_legal", "0005_mail", "0005_ncmec")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
