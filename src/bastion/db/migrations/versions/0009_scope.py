"""legal desk: a decision freezes the scope it covers (categories, date range, account entries)

An approval now binds exactly what was approved (see bastion.legal.scope). Decisions made before
this revision get the scope their request has at upgrade time, so work in progress carries on;
the backfill is the same computation `scope.live` does, written out in SQL terms here so that the
migration does not depend on code that may change later.

Revision ID: 0009_scope
Revises: 0008_merge
"""
from __future__ import annotations

import hashlib
import json

import sqlalchemy as sa
from alembic import op

revision = "0009_scope"
down_revision = "0008_merge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("legal_decisions") as batch:
        batch.add_column(sa.Column("scope_json", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("scope_digest", sa.String(64), nullable=False, server_default=""))
    connection = op.get_bind()
    decisions = connection.execute(sa.text(
        "SELECT d.id, d.categories_json, r.id, r.date_from, r.date_to FROM legal_decisions d "
        "JOIN legal_requests r ON r.id = d.request_id")).all()
    for decision_id, categories_json, request_id, date_from, date_to in decisions:
        accounts = connection.execute(sa.text(
            "SELECT id, kind, value, account_id FROM legal_request_accounts WHERE request_id = :r ORDER BY id"),
            {"r": request_id}).all()
        text = json.dumps({"categories": json.loads(categories_json or "[]"), "date_from": _iso(date_from),
                           "date_to": _iso(date_to), "accounts": [[a[0], a[1], a[2], a[3]] for a in accounts]},
                          sort_keys=True, separators=(",", ":"))
        connection.execute(sa.text("UPDATE legal_decisions SET scope_json = :j, scope_digest = :d WHERE id = :i"),
                           {"j": text, "d": hashlib.sha256(text.encode()).hexdigest(), "i": decision_id})


def _iso(value: object) -> str | None:
    """Timestamps as `scope.live` writes them (aware UTC, ISO 8601); SQLite hands back text."""
    if value is None:
        return None
    from datetime import UTC, datetime

    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return (moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def downgrade() -> None:
    with op.batch_alter_table("legal_decisions") as batch:
        batch.drop_column("scope_digest")
        batch.drop_column("scope_json")
