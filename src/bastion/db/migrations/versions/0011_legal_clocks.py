"""legal desk: clock rules (a BNSS s.94 / CrPC s.91 notice also starts Rule 3(1)(j)'s 72 hours) and
the Indian emergency target, from catalogue/rules-v2.json

Only rules missing from the table are inserted; rules legal staff edited are never overwritten.

Revision ID: 0011_legal_clocks
Revises: 0010_fp_media
"""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from importlib import resources

import sqlalchemy as sa
from alembic import op

import bastion.db.base

revision = "0011_legal_clocks"
down_revision = "0010_fp_media"
branch_labels = None
depends_on = None

KEYS = ("clock:in_bnss_94", "clock:in_crpc_91", "emergency:IN")


def upgrade() -> None:
    rules = sa.table(
        "legal_rules", sa.column("key", sa.String), sa.column("kind", sa.String), sa.column("jurisdiction", sa.String),
        sa.column("instrument_key", sa.String), sa.column("title", sa.String), sa.column("citation", sa.Text),
        sa.column("as_of", sa.Date), sa.column("body_json", sa.Text), sa.column("active", sa.Boolean),
        sa.column("updated_at", bastion.db.base.UTCDateTime()), sa.column("updated_by", sa.String),
    )
    shipped = json.loads(resources.files("bastion.legal").joinpath("catalogue/rules-v2.json").read_text("utf-8"))
    present = {row[0] for row in op.get_bind().execute(sa.text("SELECT key FROM legal_rules"))}
    rows = [{"key": r["key"], "kind": r["kind"], "jurisdiction": r.get("jurisdiction", ""),
             "instrument_key": r.get("instrument_key", ""), "title": r["title"], "citation": r["citation"],
             "as_of": date.fromisoformat(r["as_of"]), "body_json": json.dumps(r["body"], sort_keys=True),
             "active": True, "updated_at": datetime(2026, 12, 3, tzinfo=timezone.utc),
             "updated_by": "migration:0011_legal_clocks"}
            for r in shipped["rules"] if r["key"] in KEYS and r["key"] not in present]
    if rows:
        op.bulk_insert(rules, rows)


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM legal_rules WHERE key IN ('clock:in_bnss_94', 'clock:in_crpc_91', 'emergency:IN')"))
