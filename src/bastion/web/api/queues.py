"""Review queues and routing rules over JSON, for leads' tooling; the queues page does the same by hand.

One permission for every route, the queues page's own (`queues.manage`). The rules are checked exactly
as the page checks them (`routing.save_rule`): a rule that could never match, or that would make cases
loop between queues, is refused with 422 and the reason. Every change is audited by the domain.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from bastion.auth.permissions import Perm
from bastion.auth.principal import Principal
from bastion.cases import routing
from bastion.cases.models import ReviewQueue, RoutingRule
from bastion.web.guard import needs
from bastion.web.state import get_db, get_state

router = APIRouter(prefix="/api/v1/queues", tags=["queues"])


class QueueOut(BaseModel):
    id: int
    name: str
    description: str
    created_at: datetime
    created_by: str
    members: list[int]


class QueueIn(BaseModel):
    name: str = Field(max_length=200)
    description: str = Field("", max_length=2000)
    members: list[int] | None = None  # user ids; None leaves the assignment as it is


class QueuePatch(BaseModel):
    name: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=2000)
    members: list[int] | None = None


class RuleIn(BaseModel):
    """Every condition optional; empty ones do not constrain (see `routing.RuleInput`)."""

    name: str = Field(max_length=200)
    queue_id: int
    position: int = 0
    enabled: bool = True
    from_queue_id: int | None = None
    kinds: list[str] = []
    categories: list[str] = []
    sources: list[str] = []
    signal: str = ""
    max_distance: int | None = None
    min_prior_cases: int | None = None
    jurisdictions: list[str] = []
    languages: list[str] = []
    min_score: float | None = None


class RuleOut(RuleIn):
    id: int
    updated_at: datetime
    updated_by: str

    @classmethod
    def of(cls, rule: RoutingRule) -> "RuleOut":
        return cls(id=rule.id, name=rule.name, queue_id=rule.queue_id, position=rule.position, enabled=rule.enabled,
                   from_queue_id=rule.from_queue_id, kinds=rule.kinds.split(), categories=rule.categories.split(),
                   sources=rule.sources.split(), signal=rule.signal, max_distance=rule.max_distance,
                   min_prior_cases=rule.min_prior_cases, jurisdictions=rule.jurisdictions.split(),
                   languages=rule.languages.split(), min_score=rule.min_score, updated_at=rule.updated_at,
                   updated_by=rule.updated_by)


def _queue_out(db: Session, queue: ReviewQueue) -> QueueOut:
    return QueueOut(id=queue.id, name=queue.name, description=queue.description, created_at=queue.created_at,
                    created_by=queue.created_by, members=sorted(routing.members(db, queue.id)))


# the rules' routes come first: "/rules" must not be read as a queue id

@router.get("/rules")
def list_rules(db: Session = Depends(get_db), principal: Principal = needs(Perm.QUEUES_MANAGE)) -> list[RuleOut]:
    """Every rule in the order they are tried: position, then id."""
    return [RuleOut.of(r) for r in routing.rules(db)]


@router.post("/rules", status_code=201)
def create_rule(body: RuleIn, request: Request, db: Session = Depends(get_db),
                principal: Principal = needs(Perm.QUEUES_MANAGE)) -> RuleOut:
    rule = routing.save_rule(db, routing.RuleInput(**body.model_dump()), actor=principal.actor,
                             clock=get_state(request).clock)
    db.commit()
    return RuleOut.of(rule)


@router.put("/rules/{rule_id}")
def update_rule(rule_id: int, body: RuleIn, request: Request, db: Session = Depends(get_db),
                principal: Principal = needs(Perm.QUEUES_MANAGE)) -> RuleOut:
    """Replace a rule's fields (the whole rule, as the page's form does)."""
    rule = routing.save_rule(db, routing.RuleInput(**body.model_dump()), actor=principal.actor,
                             clock=get_state(request).clock, rule_id=rule_id)
    db.commit()
    return RuleOut.of(rule)


@router.delete("/rules/{rule_id}", status_code=204)
def delete_rule(rule_id: int, request: Request, db: Session = Depends(get_db),
                principal: Principal = needs(Perm.QUEUES_MANAGE)) -> Response:
    routing.delete_rule(db, rule_id, actor=principal.actor, clock=get_state(request).clock)
    db.commit()
    return Response(status_code=204)


@router.get("")
def list_queues(db: Session = Depends(get_db), principal: Principal = needs(Perm.QUEUES_MANAGE)) -> list[QueueOut]:
    return [_queue_out(db, q) for q in routing.queues(db)]


@router.post("", status_code=201)
def create_queue(body: QueueIn, request: Request, db: Session = Depends(get_db),
                 principal: Principal = needs(Perm.QUEUES_MANAGE)) -> QueueOut:
    clock = get_state(request).clock
    queue = routing.create_queue(db, name=body.name, description=body.description, actor=principal.actor, clock=clock)
    if body.members is not None:
        routing.set_members(db, queue, body.members, actor=principal.actor, clock=clock)
    db.commit()
    return _queue_out(db, queue)


@router.get("/{queue_id}")
def get_queue(queue_id: int, db: Session = Depends(get_db),
              principal: Principal = needs(Perm.QUEUES_MANAGE)) -> QueueOut:
    return _queue_out(db, routing.get_queue(db, queue_id))


@router.patch("/{queue_id}")
def update_queue(queue_id: int, body: QueuePatch, request: Request, db: Session = Depends(get_db),
                 principal: Principal = needs(Perm.QUEUES_MANAGE)) -> QueueOut:
    """Change the name, the description or the assigned reviewers; fields left out stay as they are."""
    clock = get_state(request).clock
    queue = routing.get_queue(db, queue_id)
    if body.name is not None or body.description is not None:
        routing.update_queue(db, queue, name=body.name, description=body.description, actor=principal.actor,
                             clock=clock)
    if body.members is not None:
        routing.set_members(db, queue, body.members, actor=principal.actor, clock=clock)
    db.commit()
    return _queue_out(db, queue)


@router.delete("/{queue_id}", status_code=204)
def delete_queue(queue_id: int, request: Request, db: Session = Depends(get_db),
                 principal: Principal = needs(Perm.QUEUES_MANAGE)) -> Response:
    """Delete an empty queue; refused (422) while open cases or rules use it."""
    routing.delete_queue(db, routing.get_queue(db, queue_id), actor=principal.actor, clock=get_state(request).clock)
    db.commit()
    return Response(status_code=204)
