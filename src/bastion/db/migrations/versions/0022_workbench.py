"""workbench: indexes for case, scan and audit search; auto-action policies; high-confidence banks; the lifted exposure cap

Revision ID: 0022_workbench
Revises: 0021_broker
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bastion.db.base

revision = "0022_workbench"
down_revision = "0021_broker"
branch_labels = None
depends_on = None

INDEXES = [
    ("cases", "opened_at"), ("cases", "claimed_by"),
    ("case_items", "content_id"), ("case_items", "bank_name"), ("case_items", "decided_by"),
    ("scans", "sha256"),
    ("audit_records", "actor"), ("audit_records", "subject"),
]


def upgrade() -> None:
    utc = bastion.db.base.UTCDateTime(timezone=True)
    for table, column in INDEXES:
        op.create_index(f"ix_{table}_{column}", table, [column])
    op.add_column("banks", sa.Column("high_confidence", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("cases", sa.Column("auto_policy", sa.String(length=100), nullable=False, server_default=""))
    op.add_column("cases", sa.Column("auto_actioned_at", utc, nullable=True))
    op.add_column("reviewer_exposure", sa.Column("cap_lifted_by", sa.String(length=200), nullable=False,
                                                 server_default=""))
    op.add_column("reviewer_exposure", sa.Column("cap_lift_reason", sa.Text(), nullable=False, server_default=""))
    op.create_table(
        "auto_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("signal_types", sa.String(length=64), nullable=False),
        sa.Column("remove", sa.Boolean(), nullable=False),
        sa.Column("preserve", sa.Boolean(), nullable=False),
        sa.Column("suspend", sa.Boolean(), nullable=False),
        sa.Column("created_at", utc, nullable=False),
        sa.Column("updated_at", utc, nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auto_policies")),
        sa.UniqueConstraint("name", name=op.f("uq_auto_policies_name")),
    )


def downgrade() -> None:
    op.drop_table("auto_policies")
    with op.batch_alter_table("reviewer_exposure") as batch:
        batch.drop_column("cap_lift_reason")
        batch.drop_column("cap_lifted_by")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("auto_actioned_at")
        batch.drop_column("auto_policy")
    with op.batch_alter_table("banks") as batch:
        batch.drop_column("high_confidence")
    for table, column in INDEXES:
        op.drop_index(f"ix_{table}_{column}", table_name=table)
