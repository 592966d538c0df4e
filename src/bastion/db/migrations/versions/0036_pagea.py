"""pagea: agencies are listed and found by their name in any case, through an index on lower(name)

Revision ID: 0036_pagea
Revises: 0035_pagec
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0036_pagea"
down_revision = "0035_pagec"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_legal_agencies_name_lower", "legal_agencies", [sa.text("lower(name)"), "id"])


def downgrade() -> None:
    op.drop_index("ix_legal_agencies_name_lower", table_name="legal_agencies")
