"""A legal request's record: finding it, its accounts and documents, whether it is closed, closing it.

Intake, preservation, review and collection all read a request this way and close it
the same way; keeping these steps here lets each of them import this module instead of
one another (preservation used to import intake, which imports preservation).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.clock import Clock
from bastion.legal import clocks
from bastion.legal.errors import RequestNotFound
from bastion.legal.models import Decision, LegalRequest, RequestAccount, RequestDocument
from bastion.legal.timeline import event

CLOSED = ("refused", "delivered", "closed", "fraudulent", "withdrawn", "expired")


def get_request(session: Session, request_id: int) -> LegalRequest:
    request = session.get(LegalRequest, request_id)
    if request is None:
        raise RequestNotFound(f"No legal request {request_id}.")
    return request


def by_reference(session: Session, reference: str) -> LegalRequest:
    request = session.scalar(select(LegalRequest).where(LegalRequest.reference == reference.strip().upper()))
    if request is None:
        raise RequestNotFound(f"No legal request with reference {reference!r}.")
    return request


def accounts_of(session: Session, request_id: int) -> list[RequestAccount]:
    return list(session.scalars(select(RequestAccount).where(RequestAccount.request_id == request_id)
                                .order_by(RequestAccount.id)))


def documents_of(session: Session, request_id: int) -> list[RequestDocument]:
    return list(session.scalars(select(RequestDocument).where(RequestDocument.request_id == request_id)
                                .order_by(RequestDocument.id)))


def is_closed(request: LegalRequest) -> bool:
    return request.status in CLOSED


def resolved_accounts(session: Session, request_id: int) -> list[str]:
    return list(dict.fromkeys(a.account_id for a in accounts_of(session, request_id) if a.account_id))


def close(session: Session, request: LegalRequest, *, actor: str, clock: Clock, status: str, text: str) -> None:
    request.status, request.closed_at = status, clock.now()
    clocks.stop(session, request)
    event(session, request, actor=actor, kind=status, clock=clock, text=text)


def decisions_of(session: Session, request_id: int) -> list[Decision]:
    return list(session.scalars(select(Decision).where(Decision.request_id == request_id).order_by(Decision.id)))


def current_decision(session: Session, request_id: int) -> Decision | None:
    """The decision in force: waiting for its second approver, or approved."""
    return session.scalar(select(Decision).where(Decision.request_id == request_id,
                                                 Decision.status.in_(("pending_approval", "approved")))
                          .order_by(Decision.id.desc()).limit(1))
