"""pagec: indexes for the keyset-paged lists of users (lower-cased username), API keys (name), a supervisor's portal list (legal_requests.agency_id)

Revision ID: 0035_pagec
Revises: 0034_autoact
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0035_pagec"
down_revision = "0034_autoact"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_users_username_lower", "users", [sa.text("lower(username)")])
    op.create_index("ix_api_keys_name", "api_keys", ["name"])
    op.create_index("ix_legal_requests_agency_id", "legal_requests", ["agency_id"])


def downgrade() -> None:
    op.drop_index("ix_legal_requests_agency_id", table_name="legal_requests")
    op.drop_index("ix_api_keys_name", table_name="api_keys")
    op.drop_index("ix_users_username_lower", table_name="users")
