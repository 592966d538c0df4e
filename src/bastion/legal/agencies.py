"""An officer's agency: which one they belong to, their colleagues, and what a supervisor sees.

Shared by the portal (what an officer may open and to whom they may transfer) and by legal
staff's officer pages (who may be made supervisor).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.auth.models import User
from bastion.legal import directory
from bastion.legal.models import LegalRequest, Requester


def agency_of(session: Session, requester: Requester) -> int | None:
    """The officer's agency: set on the registration (or by a call-back), else the one their domain names."""
    if requester.agency_id is not None:
        return requester.agency_id
    agencies = directory.agencies_for_email(session, requester.email)
    return agencies[0].id if len(agencies) == 1 else None


def colleagues(session: Session, requester: Requester) -> list[Requester]:
    """Other approved officers of the same agency: whom a request can be transferred to."""
    agency_id = agency_of(session, requester)
    if agency_id is None:
        return []
    rows = session.execute(select(Requester, User).join(User, User.id == Requester.user_id)
                           .where(Requester.id != requester.id, Requester.confirmed_at.is_not(None),
                                  User.disabled.is_(False)).order_by(Requester.email)).all()
    return [r for r, _ in rows if agency_of(session, r) == agency_id]


def supervises(session: Session, requester: Requester, request: LegalRequest) -> bool:
    """An agency supervisor sees every request their agency sent (and nothing of other agencies')."""
    if not requester.supervisor or request.agency_id is None:
        return False
    return agency_of(session, requester) == request.agency_id
