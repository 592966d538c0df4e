"""legal desk: what an Indian notice carries (FIR number, police station, district, sections, rank, date)

Revision ID: 0012_notice_fields
Revises: 0011_legal_clocks
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_notice_fields"
down_revision = "0011_legal_clocks"
branch_labels = None
depends_on = None

TEXT_COLUMNS = (("fir_number", 100), ("police_station", 200), ("district", 200), ("officer_rank", 100))


def upgrade() -> None:
    with op.batch_alter_table("legal_requests") as batch:
        for name, length in TEXT_COLUMNS:
            batch.add_column(sa.Column(name, sa.String(length), nullable=False, server_default=""))
        batch.add_column(sa.Column("sections_json", sa.Text(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("notice_date", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("legal_requests") as batch:
        for name in ("notice_date", "sections_json", *(n for n, _ in reversed(TEXT_COLUMNS))):
            batch.drop_column(name)
