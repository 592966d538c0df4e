"""Review queues, their routing rules and reviewers; quality sampling's second opinions and agreement figures.

Queues, rules and assignments are the leads' and admins' (`queues.manage`). A refused rule (one that
could never match, or that would make cases loop between queues) comes back to the page with the
reason and the form as typed. Second opinions are blind: the page shows the case's items and why
they are here, never the first reviewer's outcome.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.auth.models import User
from bastion.auth.permissions import Perm
from bastion.auth.principal import Principal
from bastion.auth.roles import Role
from bastion.auth.users import acting_user
from bastion.cases import routing, sampling, service
from bastion.cases.kinds import CATEGORY_KIND, KINDS, classification_titles
from bastion.cases.views import case_view
from bastion.errors import InvalidInput
from bastion.orgsettings import get_value
from bastion.web.guard import needs
from bastion.web.state import get_db, get_state
from bastion.web.ui.acts import act_and_return
from bastion.web.ui.render import render

router = APIRouter(include_in_schema=False)


def _back(path: str, error: str = "") -> RedirectResponse:
    return RedirectResponse(f"{path}?error={quote(error)}" if error else path, status_code=303)


def _int(value: str, what: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidInput(f"{what} must be a whole number.") from None


def _float(value: str, what: str) -> float | None:
    value = value.strip()
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        raise InvalidInput(f"{what} must be a number such as 0.8.") from None


@router.get("/review/queues")
def queues_page(request: Request, error: str = "", db: Session = Depends(get_db),
                principal: Principal = needs(Perm.QUEUES_MANAGE)) -> Response:
    queues = routing.queues(db)
    reviewers = list(db.scalars(select(User).where(User.role.in_((Role.REVIEWER.value, Role.LEAD.value)),
                                                   User.disabled.is_(False)).order_by(User.username)))
    return render(request, "queues.html", {
        "queues": queues, "names": {q.id: q.name for q in queues}, "rules": routing.rules(db), "error": error,
        "members": {q.id: set(routing.members(db, q.id)) for q in queues}, "reviewers": reviewers,
        "kinds": KINDS, "categories": list(CATEGORY_KIND), "sources": routing.SOURCES, "signals": routing.SIGNALS})


@router.post("/review/queues")
def queue_create(request: Request, name: str = Form(""), description: str = Form(""), db: Session = Depends(get_db),
                 principal: Principal = needs(Perm.QUEUES_MANAGE)) -> Response:
    clock = get_state(request).clock
    return act_and_return(db, lambda: routing.create_queue(db, name=name, description=description,
                                                           actor=principal.actor, clock=clock), "/review/queues")


@router.post("/review/queues/{queue_id}/members")
def queue_members(request: Request, queue_id: int, user_ids: list[int] = Form([]), db: Session = Depends(get_db),
                  principal: Principal = needs(Perm.QUEUES_MANAGE)) -> Response:
    routing.set_members(db, routing.get_queue(db, queue_id), user_ids, actor=principal.actor,
                        clock=get_state(request).clock)
    db.commit()
    return _back("/review/queues")


@router.post("/review/queues/rules")
def rule_save(request: Request, name: str = Form(""), position: str = Form("0"), queue_id: int = Form(...),
              from_queue_id: str = Form(""), enabled: bool = Form(False), kinds: list[str] = Form([]),
              categories: list[str] = Form([]), sources: list[str] = Form([]), signal: str = Form(""),
              max_distance: str = Form(""), min_prior_cases: str = Form(""), jurisdictions: str = Form(""),
              languages: str = Form(""), min_score: str = Form(""), rule_id: str = Form(""),
              db: Session = Depends(get_db), principal: Principal = needs(Perm.QUEUES_MANAGE)) -> Response:
    """Add (or, with `rule_id`, change) a rule; a rule that could never match or would loop is refused."""
    clock = get_state(request).clock

    def act() -> None:
        data = routing.RuleInput(
            name=name, queue_id=queue_id, position=_int(position, "Position") or 0, enabled=enabled,
            from_queue_id=_int(from_queue_id, "The queue it forwards from"), kinds=kinds, categories=categories,
            sources=sources, signal=signal, max_distance=_int(max_distance, "The largest distance"),
            min_prior_cases=_int(min_prior_cases, "The uploader's prior cases"),
            jurisdictions=jurisdictions.replace(",", " ").split(), languages=languages.replace(",", " ").split(),
            min_score=_float(min_score, "The lowest classifier score"))
        routing.save_rule(db, data, actor=principal.actor, clock=clock, rule_id=_int(rule_id, "The rule"))

    return act_and_return(db, act, "/review/queues")


@router.post("/review/queues/rules/{rule_id}/delete")
def rule_delete(request: Request, rule_id: int, db: Session = Depends(get_db),
                principal: Principal = needs(Perm.QUEUES_MANAGE)) -> Response:
    routing.delete_rule(db, rule_id, actor=principal.actor, clock=get_state(request).clock)
    db.commit()
    return _back("/review/queues")


# -- quality sampling ---------------------------------------------------------------------------------

@router.get("/review/quality")
def quality_page(request: Request, error: str = "", db: Session = Depends(get_db),
                 principal: Principal = needs(Perm.CASES_READ)) -> Response:
    """Second opinions waiting for this reviewer; for leads, differences to settle and agreement figures."""
    lead = principal.can(Perm.QUEUES_MANAGE)
    visible = routing.visible_queue_ids(db, principal.user_id, sees_all=lead)
    waiting = sampling.waiting_for(db, principal.user_id, visible=visible) if principal.can(Perm.CASES_REVIEW) else []
    users = dict(db.execute(select(User.id, User.username)).all())
    return render(request, "quality.html", {
        "waiting": waiting, "lead": lead, "error": error, "users": users,
        "to_lead": sampling.for_lead(db) if lead else [],
        "by_reviewer": sampling.by_reviewer(db) if lead else [], "by_queue": sampling.by_queue(db) if lead else [],
        "percent": get_value(db, sampling.SAMPLE_PERCENT)})


@router.get("/review/quality/{sample_id}")
def second_opinion_page(request: Request, sample_id: int, db: Session = Depends(get_db),
                        principal: Principal = needs(Perm.CASES_REVIEW)) -> Response:
    """The case as the first reviewer found it, without their outcome (blind); media blurred as always."""
    sample = sampling.get_sample(db, sample_id)
    if sample.first_reviewer == principal.user_id or sample.status != "waiting":
        return _back("/review/quality", "That sample is not waiting for your opinion.")
    case = service.get_case(db, sample.case_id)
    return render(request, "quality_sample.html", {"sample": sample, "view": case_view(db, case),
                                                   "titles": classification_titles(case.kind)})


@router.post("/review/quality/{sample_id}")
def second_opinion_save(request: Request, sample_id: int, outcome: str = Form(""), classification: str = Form(""),
                        db: Session = Depends(get_db), principal: Principal = needs(Perm.CASES_REVIEW)) -> Response:
    clock = get_state(request).clock
    return act_and_return(db, lambda: sampling.second_opinion(
        db, sampling.get_sample(db, sample_id), acting_user(db, principal.user_id), confirmed=outcome == "confirmed",
        classification=classification, clock=clock), "/review/quality")


@router.post("/review/quality/{sample_id}/settle")
def settle(request: Request, sample_id: int, note: str = Form(""), db: Session = Depends(get_db),
           principal: Principal = needs(Perm.QUEUES_MANAGE)) -> Response:
    clock = get_state(request).clock
    return act_and_return(db, lambda: sampling.settle(db, sampling.get_sample(db, sample_id), lead=principal.actor,
                                                      note=note, clock=clock), "/review/quality")
