"""`POST /api/v1/complaints`: the platform files a complaint on a user's behalf (or a trusted flagger's)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from bastion.auth.permissions import Perm
from bastion.auth.principal import Principal
from bastion.auth.roles import Role
from bastion.grievances import service
from bastion.web.complaint_cases import open_review_case
from bastion.web.guard import needs
from bastion.web.state import get_db, get_state, platform_connector

router = APIRouter(prefix="/api/v1", tags=["complaints"])


class ComplaintIn(BaseModel):
    category: str = Field(description=f"One of: {', '.join(service.CATEGORIES)}")
    content_ref: str = Field(max_length=2000, description="The content's URL or the platform's content id")
    description: str = Field("", max_length=service.MAX_DESCRIPTION)
    contact_email: str = Field("", max_length=320, description="The complainant's address, if they gave one")
    jurisdiction: str = Field("IN", max_length=16)
    trusted_flagger: bool = Field(False, description="Relayed from a trusted flagger: ranked above other complaints "
                                                     "(a flagger's own key is always ranked so)")


@router.post("/complaints", status_code=201)
def file_complaint(body: ComplaintIn, request: Request, db: Session = Depends(get_db),
                   principal: Principal = needs(Perm.COMPLAINT_SUBMIT)) -> dict[str, Any]:
    """File a complaint; the answer carries its reference and the complainant's status link (shown once)."""
    state = get_state(request)
    flagger = principal.role is Role.FLAGGER or body.trusted_flagger
    with platform_connector(request) as connector:
        complaint, token = service.submit(
            db, channel="flagger" if flagger else "platform", category=body.category,
            content_ref=body.content_ref, description=body.description, contact_email=body.contact_email,
            jurisdiction=body.jurisdiction, submitted_by=principal.actor, connector=connector, clock=state.clock)
    open_review_case(db, complaint, state.clock)
    db.commit()
    due = service.next_due(db, complaint)
    return {"reference": complaint.reference, "status": complaint.status,
            "status_url": f"{state.settings.base_url.rstrip('/')}/complaints/status?token={token}",
            "next_due": {"title": due.title, "due_at": due.due_at.isoformat(), "citation": due.citation} if due else None}
