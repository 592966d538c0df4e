"""A request's timeline: one event per act, each with its audit record in the same transaction."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion import audit
from bastion.clock import Clock
from bastion.legal.models import LegalRequest, RequestEvent


def subject(request: LegalRequest | int) -> str:
    """The subject string of a request in the audit log, timers and the evidence vault."""
    return f"legal_request:{request if isinstance(request, int) else request.id}"


def event(session: Session, request: LegalRequest, *, actor: str, kind: str, clock: Clock, text: str = "",
          details: dict[str, Any] | None = None, requester_visible: bool = False) -> RequestEvent:
    """Append to the timeline and to the audit chain (action `legal.<kind>`)."""
    row = RequestEvent(request_id=request.id, at=clock.now(), actor=actor, kind=kind, text=text,
                       details=json.dumps(details or {}, sort_keys=True, default=str),
                       requester_visible=requester_visible)
    session.add(row)
    request.updated_at = clock.now()
    audit.record(session, actor=actor, action=f"legal.{kind}", subject=subject(request),
                 details={"reference": request.reference, "text": text, **(details or {})}, clock=clock)
    session.flush()
    return row


def events_of(session: Session, request_id: int, *, requester_view: bool = False) -> list[RequestEvent]:
    stmt = select(RequestEvent).where(RequestEvent.request_id == request_id)
    if requester_view:
        stmt = stmt.where(RequestEvent.requester_visible.is_(True))
    return list(session.scalars(stmt.order_by(RequestEvent.at, RequestEvent.id)))
