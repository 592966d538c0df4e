"""Finding scans: exact values on indexed columns, newest first, paged by keyset (see bastion.db.keyset).

Only hashes and metadata come back; a scan list never carries media.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.db import keyset
from bastion.scanning.models import Scan

MAX_TEXT = 255


@dataclass(frozen=True)
class ScanFilter:
    account_id: str = ""
    content_id: str = ""
    hash: str = ""
    matched_only: bool = False
    since: date | None = None
    until: date | None = None


def search(session: Session, f: ScanFilter, *, cursor: str | None = None, limit: int | None = None
           ) -> keyset.Page[Scan]:
    """One page of scans matching every given filter, newest first."""
    size = keyset.page_size(limit)
    stmt = select(Scan).order_by(Scan.id.desc())
    for value, column, what in ((f.account_id, Scan.account_id, "account id"),
                                (f.content_id, Scan.content_id, "content id")):
        value = keyset.exact(value, what, MAX_TEXT)
        if value:
            stmt = stmt.where(column == value)
    digest = keyset.digest(f.hash)
    if digest:
        stmt = stmt.where((Scan.md5 if len(digest) == 32 else Scan.sha256) == digest)
    if f.matched_only:
        stmt = stmt.where(Scan.match_count > 0)
    start, end = keyset.day_range(f.since, f.until)
    if start:
        stmt = stmt.where(Scan.created_at >= start)
    if end:
        stmt = stmt.where(Scan.created_at < end)
    after = keyset.after_id(cursor)
    if after is not None:
        stmt = stmt.where(Scan.id < after)
    return keyset.cut(list(session.scalars(stmt.limit(size + 1))), size, lambda s: [s.id])
