"""Reading and verifying the audit chain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy.orm import Session

from bastion import audit
from bastion.auth.permissions import Perm
from bastion.web.guard import needs
from bastion.web.state import get_db

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


class AuditOut(BaseModel):
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    details: dict[str, Any]
    hash: str


class VerifyOut(BaseModel):
    ok: bool
    records: int
    head_hash: str
    first_broken: int | None
    reason: str


@router.get("", dependencies=[needs(Perm.AUDIT_READ)])
def list_records(
    db: Session = Depends(get_db),
    before: int | None = Query(None, description="Only records with a smaller sequence number."),
    action: str | None = Query(None, description="Only this action, e.g. auth.login_failed."),
    limit: int = Query(100, ge=1, le=1000),
) -> list[AuditOut]:
    return [
        AuditOut(seq=r.seq, at=r.at, actor=r.actor, action=r.action, subject=r.subject,
                 details=audit.details_of(r), hash=r.hash)
        for r in audit.recent(db, limit=limit, before=before, action=action)
    ]


@router.get("/verify", dependencies=[needs(Perm.AUDIT_READ)])
def verify(db: Session = Depends(get_db)) -> VerifyOut:
    result = audit.verify(db)
    return VerifyOut(ok=result.ok, records=result.records, head_hash=result.head_hash,
                     first_broken=result.first_broken, reason=result.reason)
