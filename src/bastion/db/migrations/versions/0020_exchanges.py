"""hash exchanges: configs, per-type credentials, item provenance

Revision ID: 0020_exchanges
Revises: 0019_report_versions
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bastion.db.base

revision = "0020_exchanges"
down_revision = "0019_report_versions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    big = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    utc = bastion.db.base.UTCDateTime(timezone=True)
    op.create_table(
        "exchanges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("api", sa.String(length=64), nullable=False),
        sa.Column("config_json", sa.Text(), nullable=False),
        sa.Column("credentials", sa.Text(), nullable=False),
        sa.Column("bank_ids_json", sa.Text(), nullable=False),
        sa.Column("fetch_every_minutes", sa.Integer(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("checkpoint_json", sa.Text(), nullable=False),
        sa.Column("checkpoint_at", utc, nullable=True),
        sa.Column("fetch_started_at", utc, nullable=True),
        sa.Column("last_fetch_at", utc, nullable=True),
        sa.Column("last_success_at", utc, nullable=True),
        sa.Column("last_succeeded", sa.Boolean(), nullable=True),
        sa.Column("items_added", sa.Integer(), nullable=False),
        sa.Column("items_updated", sa.Integer(), nullable=False),
        sa.Column("items_deleted", sa.Integer(), nullable=False),
        sa.Column("items_skipped", sa.Integer(), nullable=False),
        sa.Column("created_at", utc, nullable=False),
        sa.Column("updated_at", utc, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchanges")),
        sa.UniqueConstraint("name", name=op.f("uq_exchanges_name")),
    )
    op.create_table(
        "exchange_api_credentials",
        sa.Column("api", sa.String(length=64), nullable=False),
        sa.Column("credentials", sa.Text(), nullable=False),
        sa.Column("updated_at", utc, nullable=False),
        sa.PrimaryKeyConstraint("api", name=op.f("pk_exchange_api_credentials")),
    )
    op.create_table(
        "exchange_items",
        sa.Column("id", big, nullable=False),
        sa.Column("exchange_id", sa.Integer(), nullable=False),
        sa.Column("bank_id", sa.Integer(), nullable=False),
        sa.Column("upstream_id", sa.String(length=255), nullable=False),
        sa.Column("entry_id", big, nullable=True),
        sa.Column("signals_json", sa.Text(), nullable=False),
        sa.Column("labels_json", sa.Text(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("first_seen", utc, nullable=False),
        sa.Column("last_seen", utc, nullable=False),
        sa.Column("removed_at", utc, nullable=True),
        sa.ForeignKeyConstraint(["exchange_id"], ["exchanges.id"],
                                name=op.f("fk_exchange_items_exchange_id_exchanges"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["bank_id"], ["banks.id"], name=op.f("fk_exchange_items_bank_id_banks"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["entry_id"], ["bank_entries.id"], name=op.f("fk_exchange_items_entry_id_bank_entries"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_items")),
        sa.UniqueConstraint("exchange_id", "bank_id", "upstream_id", name="uq_exchange_items_exchange_bank_upstream"),
    )
    with op.batch_alter_table("exchange_items") as batch:
        batch.create_index(batch.f("ix_exchange_items_exchange_id"), ["exchange_id"], unique=False)
        batch.create_index("ix_exchange_items_entry", ["entry_id"], unique=False)


def downgrade() -> None:
    op.drop_table("exchange_items")
    op.drop_table("exchange_api_credentials")
    op.drop_table("exchanges")
