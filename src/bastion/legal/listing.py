"""Finding legal requests: by reference or status, newest first, one keyset page at a time.

The desk's dashboard (clocks.queue) orders by urgency; this is the other way in, for finding
any request, answered or closed, without a cap on how far back one may page. Every filter is
an equality on an indexed column, so no search scans the table.
"""

from __future__ import annotations

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from bastion.db.keyset import Page, after_id, after_text_id, cut, exact, like_prefix, page_size, prefix
from bastion.errors import InvalidInput
from bastion.legal.models import Agency, LegalRequest
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


#: The directory's filter on whether an agency is still used for verification, with what the page calls it.
AGENCY_STATES = {"active": "In use", "inactive": "Retired"}


def agencies_page(session: Session, *, name: str = "", country: str = "", state: str = "",
                  cursor: str | None = None, limit: int | None = None) -> Page[Agency]:
    """Agencies by name A to Z whatever its case, found by the start of the name (any case), the country
    and whether they are in use. Order and prefix both run on the index of (lower(name), id)."""
    size = page_size(limit)
    lowered = func.lower(Agency.name)
    query = select(Agency)
    start = prefix(name, "agency name", 300).lower()
    if start:
        query = query.where(lowered >= start, lowered.like(like_prefix(start), escape="\\"))
    country = exact(country, "country code", 8).upper()
    if country:
        query = query.where(Agency.country == country)
    if state:
        if state not in AGENCY_STATES:
            raise InvalidInput(f"There is no agency state {state!r}; pick one from the list.")
        query = query.where(Agency.active.is_(state == "active"))
    after = after_text_id(cursor)
    if after is not None:
        query = query.where(tuple_(lowered, Agency.id) > tuple_(*after))
    # The cursor carries the database's own lower(name), so it compares exactly as the index does.
    found = session.execute(query.add_columns(lowered).order_by(lowered, Agency.id).limit(size + 1)).all()
    page = cut(list(found), size, key=lambda row: [row[1], row[0].id])
    return Page([agency for agency, _ in page.rows], page.next_cursor)
