"""legal catalogue: every Indian instrument reviewed against the primary texts (citations, as-of date,
and the notice rule: in India notice may be delayed or withheld, never a precondition of production)

Applied only to instruments nobody edited since they were shipped (updated_by still a migration's or
the system's): legal staff's own edits are never overwritten.

Revision ID: 0015_india_review
Revises: 0014_thread_agency
"""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from importlib import resources

import sqlalchemy as sa
from alembic import op

revision = "0015_india_review"
down_revision = "0014_thread_agency"
branch_labels = None
depends_on = None

REVIEW = "catalogue/india-review-2026-12.json"
BY = "migration:0015_india_review"


def upgrade() -> None:
    review = json.loads(resources.files("bastion.legal").joinpath(REVIEW).read_text("utf-8"))
    bind = op.get_bind()
    for key, changes in review["instruments"].items():
        values = {"as_of": date.fromisoformat(review["as_of"]), "by": BY,
                  "at": datetime(2026, 12, 4, tzinfo=timezone.utc), "key": key,
                  "citation": changes["citation"]}
        notice = ", notice_json = :notice" if "notice" in changes else ""
        if notice:
            values["notice"] = json.dumps(changes["notice"])
        bind.execute(sa.text(f"UPDATE legal_instruments SET citation = :citation, as_of = :as_of{notice}, "
                             "updated_at = :at, updated_by = :by WHERE key = :key AND "
                             "(updated_by LIKE 'migration:%' OR updated_by LIKE 'system:%')"), values)


def downgrade() -> None:
    pass  # the earlier citations were less precise, not different law: nothing to restore
