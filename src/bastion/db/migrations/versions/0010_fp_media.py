"""evidence: the retention catalogue gains `false_positive_media` (catalogue/v2.json)

Media of an upload a reviewer decided is not a match is purged 30 days after the decision (see
bastion.cases.service.reject_item). Only the new policy is inserted; entries legal staff edited are
never overwritten.

Revision ID: 0010_fp_media
Revises: 0009_scope
"""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from importlib import resources

import sqlalchemy as sa
from alembic import op

import bastion.db.base

revision = "0010_fp_media"
down_revision = "0009_scope"
branch_labels = None
depends_on = None

KEY = "false_positive_media"


def upgrade() -> None:
    policies = sa.table(
        "evidence_retention_policies",
        sa.column("key", sa.String), sa.column("title", sa.String), sa.column("duration", sa.String),
        sa.column("citation", sa.Text), sa.column("as_of", sa.Date), sa.column("description", sa.Text),
        sa.column("active", sa.Boolean), sa.column("updated_at", bastion.db.base.UTCDateTime()),
        sa.column("updated_by", sa.String),
    )
    exists = op.get_bind().execute(sa.text("SELECT 1 FROM evidence_retention_policies WHERE key = :k"),
                                   {"k": KEY}).first()
    if exists:
        return
    catalogue = json.loads(resources.files("bastion.evidence").joinpath("catalogue/v2.json").read_text("utf-8"))
    entry = next(p for p in catalogue["policies"] if p["key"] == KEY)
    op.bulk_insert(policies, [{
        "key": KEY, "title": entry["title"], "duration": entry["duration"], "citation": entry["citation"],
        "as_of": date.fromisoformat(entry["as_of"]), "description": entry["description"], "active": True,
        "updated_at": datetime(2026, 12, 3, tzinfo=timezone.utc), "updated_by": "migration:0010_fp_media"}])


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM evidence_retention_policies WHERE key = 'false_positive_media'"))
