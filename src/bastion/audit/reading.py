"""Reading the audit log newest first, as the audit page, the API and any export do."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.audit.models import AuditRecord
from bastion.db import keyset


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


def page(session: Session, *, actor: str = "", action: str = "", subject: str = "",
         cursor: str | None = None, limit: int | None = None) -> keyset.Page[AuditRecord]:
    """One page of the log, newest first, filtered by exact actor, action and subject (all indexed).

    Exact values only: a pattern would scan the whole log, which only grows.
    """
    size = keyset.page_size(limit)
    stmt = select(AuditRecord).order_by(AuditRecord.seq.desc())
    for value, column, longest in ((actor, AuditRecord.actor, 200), (action, AuditRecord.action, 100),
                                   (subject, AuditRecord.subject, 300)):
        value = keyset.exact(value, column.key, longest)
        if value:
            stmt = stmt.where(column == value)
    after = keyset.after_id(cursor)
    if after is not None:
        stmt = stmt.where(AuditRecord.seq < after)
    return keyset.cut(list(session.scalars(stmt.limit(size + 1))), size, lambda r: [r.seq])
