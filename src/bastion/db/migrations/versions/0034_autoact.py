"""autoact: an auto-action policy may act on PDQ matches within its own maximum distance

Revision ID: 0034_autoact
Revises: 0033_deliver
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0034_autoact"
down_revision = "0033_deliver"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("auto_policies") as batch:
        batch.add_column(sa.Column("pdq_max_distance", sa.Integer(), nullable=True))


def downgrade() -> None:
    # Older code would read a "pdq" policy as "pdq at distance 0" with no ceiling of its own: switch such
    # policies off rather than let them act under rules nobody chose.
    policies = sa.table("auto_policies", sa.column("enabled", sa.Boolean()), sa.column("signal_types", sa.String()))
    op.execute(policies.update().where(policies.c.signal_types.like("%pdq%")).values(enabled=False))
    with op.batch_alter_table("auto_policies") as batch:
        batch.drop_column("pdq_max_distance")
