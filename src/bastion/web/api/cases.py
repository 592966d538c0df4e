"""The review queue over JSON, for tooling; people use the review pages."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from bastion.auth.users import acting_user
from bastion.auth.permissions import Perm
from bastion.auth.principal import Principal
from bastion.actions import outbox
from bastion.cases import routing, service
from bastion.cases.errors import CaseNotFound
from bastion.cases.enforce import Enforcement, decide_case
from bastion.cases.models import Case, CaseItem
from bastion.cases.search import CaseFilter, search
from bastion.db import keyset
from bastion.cases.views import case_view
from bastion.web.complaint_cases import resolve_from_case
from bastion.web.guard import needs
from bastion.web.state import get_db, get_state
from bastion.web.api.paging import link_next

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])


class CaseOut(BaseModel):
    id: int
    account_id: str
    status: str
    priority: int
    opened_at: datetime
    removal_due_at: datetime | None
    removal_policy: str
    claimed_by: int | None
    classification: str
    kind: str = "csam"
    source: str = "bank"
    source_ref: str = ""
    queue_id: int | None = None
    classifier_model: str = ""
    classifier_score: float | None = None
    items: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []

    @classmethod
    def of(cls, case: Case, items: list[CaseItem] | None = None, events: list[Any] | None = None) -> "CaseOut":
        return cls(
            id=case.id, account_id=case.account_id, status=case.status, priority=case.priority,
            opened_at=case.opened_at, removal_due_at=case.removal_due_at, removal_policy=case.removal_policy,
            claimed_by=case.claimed_by, classification=case.classification, kind=case.kind, source=case.source,
            source_ref=case.source_ref, queue_id=case.queue_id, classifier_model=case.classifier_model,
            classifier_score=case.classifier_score,
            items=[{"id": i.id, "scan_id": i.scan_id, "content_id": i.content_id, "bank": i.bank_name,
                    "entry_id": i.entry_id, "signal_type": i.signal_type, "distance": i.distance,
                    "category": i.category, "decision": i.decision, "classification": i.classification,
                    "viewed": i.viewed} for i in items or []],
            events=[{"at": e.at, "actor": e.actor, "kind": e.kind, "from": e.from_status, "to": e.to_status}
                    for e in events or []],
        )


class Decision(BaseModel):
    decision: str = Field(pattern="^(confirm|not_match)$")
    classification: str = ""
    annotations: list[str] = []
    reason: str = ""
    disable_entry: bool = False


class Note(BaseModel):
    note: str = ""


class Move(BaseModel):
    queue_id: int | None = None  # None: the general queue
    reason: str = Field("", max_length=500)


def _visible(db: Session, principal: Principal) -> list[int] | None:
    return routing.visible_queue_ids(db, principal.user_id, sees_all=principal.can(Perm.QUEUES_MANAGE))


def _seen(db: Session, principal: Principal, case_id: int) -> Case:
    """The case, if it is in the caller's queues (or unrouted); otherwise it does not exist for them."""
    case = service.get_case(db, case_id)
    if not routing.may_see(case, _visible(db, principal)):
        raise CaseNotFound(f"No case {case_id} in your queues.")
    return case


@router.get("")
def list_open(request: Request, response: Response, account_id: str = "", content_id: str = "", hash: str = "",
              bank: str = "", status: str = "", reviewer: str = "", opened_from: date | None = None,
              opened_to: date | None = None, queue_id: int | None = None, cursor: str = "",
              limit: int = Query(keyset.DEFAULT_PAGE), db: Session = Depends(get_db),
              principal: Principal = needs(Perm.CASES_READ)) -> list[CaseOut]:
    """With no filter, the open queue by urgency; with any, matching cases newest first.

    Only cases in the caller's queues and unrouted ones (leads and admins: all). With `queue_id` and
    no other filter, that queue in its own order: legal clock, then severity, then age.

    Keyset-paged: when there is more, the `X-Next-Cursor` header (and a `Link: rel="next"`)
    gives the cursor to pass back as `cursor`. Items, events and media are not listed here.
    """
    found = CaseFilter(account_id=account_id, content_id=content_id, hash=hash, bank=bank, status=status,
                       reviewer=reviewer, opened_from=opened_from, opened_to=opened_to)
    page = search(db, found, cursor=cursor or None, limit=limit, visible=_visible(db, principal), queue_id=queue_id)
    link_next(request, response, page.next_cursor)
    return [CaseOut.of(c) for c in page.rows]


@router.get("/{case_id}")
def get_case(case_id: int, db: Session = Depends(get_db), principal: Principal = needs(Perm.CASES_READ)) -> CaseOut:
    view = case_view(db, _seen(db, principal, case_id))
    return CaseOut.of(view.case, [v.item for v in view.items], view.events)


@router.post("/next")
def next_case(request: Request, queue_id: int | None = None, db: Session = Depends(get_db),
              principal: Principal = needs(Perm.CASES_REVIEW)) -> CaseOut | None:
    """Claim the most urgent case from the caller's queues (or, with `queue_id`, from that one queue)."""
    case = service.next_case(db, acting_user(db, principal.user_id), clock=get_state(request).clock,
                             visible=_visible(db, principal), queue_id=queue_id)
    db.commit()
    return CaseOut.of(case) if case else None


@router.post("/{case_id}/claim")
def claim(case_id: int, request: Request, db: Session = Depends(get_db),
          principal: Principal = needs(Perm.CASES_REVIEW)) -> CaseOut:
    case = service.claim(db, service.get_case(db, case_id), acting_user(db, principal.user_id),
                         clock=get_state(request).clock, visible=_visible(db, principal))
    db.commit()
    return CaseOut.of(case)


@router.post("/{case_id}/move")
def move(case_id: int, body: Move, request: Request, db: Session = Depends(get_db),
         principal: Principal = needs(Perm.CASES_REVIEW)) -> CaseOut:
    """Move a case to another queue (`queue_id` null: the general queue); the reason is required and audited."""
    case = _seen(db, principal, case_id)
    routing.move(db, case, body.queue_id, actor=principal.actor, reason=body.reason, clock=get_state(request).clock)
    db.commit()
    return CaseOut.of(case)


@router.post("/{case_id}/release")
def release(case_id: int, request: Request, db: Session = Depends(get_db),
            principal: Principal = needs(Perm.CASES_REVIEW)) -> CaseOut:
    case = service.get_case(db, case_id)
    service.release(db, case, acting_user(db, principal.user_id), clock=get_state(request).clock)
    db.commit()
    return CaseOut.of(case)


@router.post("/{case_id}/items/{item_id}/decision")
def decide(case_id: int, item_id: int, body: Decision, request: Request, db: Session = Depends(get_db),
           principal: Principal = needs(Perm.CASES_REVIEW)) -> CaseOut:
    clock = get_state(request).clock
    case = service.get_case(db, case_id)
    item, user = service.get_item(db, case, item_id), acting_user(db, principal.user_id)
    if body.decision == "confirm":
        service.confirm_item(db, case, item, user, classification=body.classification,
                             annotations=body.annotations, clock=clock)
    else:
        service.reject_item(db, case, item, user, reason=body.reason, disable_entry=body.disable_entry, clock=clock)
    db.commit()
    return CaseOut.of(case, service.items_of(db, case.id))


@router.post("/{case_id}/escalate")
def escalate(case_id: int, body: Note, request: Request, db: Session = Depends(get_db),
             principal: Principal = needs(Perm.CASES_REVIEW)) -> CaseOut:
    case = service.get_case(db, case_id)
    service.escalate(db, case, acting_user(db, principal.user_id), note=body.note, clock=get_state(request).clock)
    db.commit()
    return CaseOut.of(case)


class Conclusion(BaseModel):
    remove: bool = True
    restrict: str = Field("suspend", pattern="^(|suspend|limit)$")
    preserve: bool = True
    report: bool = True
    add_to_bank: bool = True


@router.post("/{case_id}/conclude")
def conclude(case_id: int, body: Conclusion, request: Request, db: Session = Depends(get_db),
             principal: Principal = needs(Perm.CASES_REVIEW)) -> dict[str, Any]:
    """Conclude a fully decided case; a confirmed one gets the chosen actions through the outbox."""
    case = service.get_case(db, case_id)
    state = get_state(request)
    status = decide_case(db, case, acting_user(db, principal.user_id), Enforcement(**body.model_dump()), clock=state.clock,
                         vault=state.services.get("evidence.vault"))
    resolve_from_case(db, case, actor=principal.actor, user_id=principal.user_id, clock=state.clock,
                      base_url=state.settings.base_url)
    db.commit()
    return {"status": status, "actions": [
        {"id": a.id, "kind": a.kind, "target": a.target, "status": a.status} for a in outbox.actions_for(db, f"case:{case.id}")]}
