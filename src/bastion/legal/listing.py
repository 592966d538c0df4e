"""Finding legal requests: by reference or status, newest first, one keyset page at a time.

The desk's dashboard (clocks.queue) orders by urgency; this is the other way in, for finding
any request, answered or closed, without a cap on how far back one may page. Every filter is
an equality on an indexed column, so no search scans the table.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.db.keyset import Page, after_id, cut, exact, page_size
from bastion.errors import InvalidInput
from bastion.legal.models import LegalRequest
from bastion.legal.titles import TITLES

STATUSES = tuple(TITLES["status"])


def search_page(session: Session, *, reference: str = "", status: str = "", cursor: str | None = None,
                limit: int | None = None) -> Page[LegalRequest]:
    """Requests matching every filter given, newest first."""
    size = page_size(limit)
    query = select(LegalRequest)
    reference = exact(reference, "reference", 32)
    if reference:
        query = query.where(LegalRequest.reference == reference)
    if status:
        if status not in STATUSES:
            raise InvalidInput(f"There is no request status {status!r}; pick one from the list.")
        query = query.where(LegalRequest.status == status)
    after = after_id(cursor)
    if after is not None:
        query = query.where(LegalRequest.id < after)
    rows = list(session.scalars(query.order_by(LegalRequest.id.desc()).limit(size + 1)))
    return cut(rows, size, key=lambda request: [request.id])
