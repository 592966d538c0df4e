"""Reading the audit log newest first, as the audit page, the API and any export do."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.audit.models import AuditRecord


def recent(session: Session, *, limit: int, before: int | None = None, action: str | None = None
           ) -> list[AuditRecord]:
    """The newest `limit` records, optionally only older than sequence `before` and of one `action`."""
    stmt = select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(limit)
    if before is not None:
        stmt = stmt.where(AuditRecord.seq < before)
    if action:
        stmt = stmt.where(AuditRecord.action == action)
    return list(session.scalars(stmt))


def details_of(entry: AuditRecord) -> dict[str, Any]:
    """A record's details as written (stored as canonical JSON, since the hash covers them)."""
    value: dict[str, Any] = json.loads(entry.details)
    return value
