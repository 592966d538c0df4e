"""`/api/v1/appeals`: the platform files its user's appeal against an enforcement and reads its state."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.appeals import service
from bastion.appeals.models import Appeal
from bastion.auth.permissions import Perm
from bastion.auth.principal import Principal
from bastion.errors import NotFound
from bastion.web.guard import needs
from bastion.web.state import get_db, get_state

router = APIRouter(prefix="/api/v1", tags=["appeals"])


class AppealIn(BaseModel):
    account_id: str = Field(min_length=1, max_length=255, description="The appellant's account on the platform")
    notice_reference: str = Field("", max_length=64, description="The statement of reasons' reference (SOR-…)")
    content_id: str = Field("", max_length=255, description="Or the actioned content's id")
    grounds: str = Field("", max_length=service.MAX_GROUNDS, description="The user's own words")
    jurisdiction: str = Field("", max_length=16, description="IN, EU or US; empty for the platform's default")


@router.post("/appeals", status_code=201)
def file_appeal(body: AppealIn, request: Request, db: Session = Depends(get_db),
                principal: Principal = needs(Perm.APPEAL_SUBMIT)) -> dict[str, Any]:
    """File an appeal; the answer gives its reference and the date by which it will be decided."""
    appeal = service.submit(db, account_id=body.account_id, grounds=body.grounds,
                            notice_reference=body.notice_reference, content_id=body.content_id,
                            jurisdiction=body.jurisdiction, submitted_by=principal.actor,
                            clock=get_state(request).clock)
    db.commit()
    return service.as_dict(appeal)


@router.get("/appeals/{reference}")
def appeal_state(reference: str, db: Session = Depends(get_db),
                 principal: Principal = needs(Perm.APPEAL_SUBMIT)) -> dict[str, Any]:
    """The state of an appeal this client filed (another client's appeals are not found)."""
    appeal = db.scalar(select(Appeal).where(Appeal.reference == reference, Appeal.submitted_by == principal.actor))
    if appeal is None:
        raise NotFound(f"No appeal {reference!r} filed by this client.")
    return service.as_dict(appeal)
