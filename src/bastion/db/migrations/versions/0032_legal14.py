"""legal14: a DSA statement records the appeal that reversed its decision

Revision ID: 0032_legal14
Revises: 0031_rollup
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bastion.db.base

revision = "0032_legal14"
down_revision = "0031_rollup"
branch_labels = None
depends_on = None


def upgrade() -> None:
    utc = bastion.db.base.UTCDateTime(timezone=True)
    with op.batch_alter_table("dsa_statements") as batch:
        batch.add_column(sa.Column("reversal_ref", sa.String(length=32), nullable=False, server_default=""))
        batch.add_column(sa.Column("reversed_at", utc, nullable=True))
        batch.add_column(sa.Column("reversal_note", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("dsa_statements") as batch:
        batch.drop_column("reversal_note")
        batch.drop_column("reversed_at")
        batch.drop_column("reversal_ref")
