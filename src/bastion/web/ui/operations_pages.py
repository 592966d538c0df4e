"""The operations page: queues, task rates, failures, dead letters (retryable) and the broker's health."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from bastion.auth.permissions import Perm
from bastion.auth.principal import Principal
from bastion.batchscan import service as batch
from bastion.errors import NotFound
from bastion.evidence.shared import PROBLEMS_SERVICE
from bastion.jobs import service as jobs
from bastion.jobs.models import KINDS, STATES
from bastion.web.guard import needs
from bastion.web.operations import overview
from bastion.web.scaleout import publish_now
from bastion.web.state import get_db, get_state
from bastion.web.ui.acts import act_and_return
from bastion.web.ui.paging import next_url
from bastion.web.ui.render import render

router = APIRouter(include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store, private"}


@router.get("/operations")
def operations_page(request: Request, q: str = "", cursor: str = "", error: str = "", notice: str = "",
                    db: Session = Depends(get_db), principal: Principal = needs(Perm.OPERATIONS)) -> Response:
    state = get_state(request)
    dead = batch.dead_page(db, search=q, cursor=cursor or None, limit=50)
    context = {"view": overview(db, state), "dead": dead.rows, "q": q, "next_url": next_url(request, dead.next_cursor),
               "error": error, "notice": notice, "vault_problems": state.services.get(PROBLEMS_SERVICE, [])}
    context.update(_jobs_context(db))
    return render(request, "operations.html", context, headers=NO_STORE)


def _jobs_context(db: Session) -> dict[str, object]:
    """The newest fan-out jobs, for the main page (all of them, paged, at /operations/jobs)."""
    newest = jobs.page(db, limit=10)
    return {"jobs": newest.rows, "more_jobs": newest.next_cursor is not None}


@router.get("/operations/jobs")
def jobs_page(request: Request, kind: str = "", state: str = "", cursor: str = "", error: str = "",
              db: Session = Depends(get_db), principal: Principal = needs(Perm.OPERATIONS)) -> Response:
    """Every fan-out job (rescans, imports), newest first, with its progress; filtered by kind and state, keyset-paged."""
    kind = kind if kind in KINDS else ""
    listed = jobs.page(db, kind=kind, state=state, cursor=cursor or None, limit=50)
    return render(request, "operations_jobs.html", {
        "jobs": listed.rows, "kind": kind, "kinds": KINDS, "state": state, "states": STATES, "error": error,
        "next_url": next_url(request, listed.next_cursor)}, headers=NO_STORE)


@router.post("/operations/jobs/{job_id}/cancel")
def cancel_job(request: Request, job_id: int, db: Session = Depends(get_db),
               principal: Principal = needs(Perm.OPERATIONS)) -> Response:
    """Stop a job: its chunks not yet started are skipped (audited)."""
    return act_and_return(db, lambda: jobs.cancel(db, job_id, actor=principal.actor, clock=get_state(request).clock),
                          "/operations/jobs")


@router.post("/operations/jobs/{job_id}/resume")
def resume_job(request: Request, job_id: int, db: Session = Depends(get_db),
               principal: Principal = needs(Perm.OPERATIONS)) -> Response:
    """Send a job's unfinished chunks again from its checkpoint; a failed job's dead chunks get fresh tries (audited)."""
    state = get_state(request)
    queued: list[int] = []

    def act() -> None:
        queued.extend(jobs.resume(db, job_id, actor=principal.actor, clock=state.clock)[1])

    response = act_and_return(db, act, "/operations/jobs")
    if queued:
        publish_now(state, queued)
    return response


def _outboxes() -> dict[str, tuple[Any, tuple[str, ...], Any, str]]:
    """Each outbox by its page key: its table, the columns a search reads, its retry, and its title."""
    from bastion import actions, mail
    from bastion.actions.queue import TABLE as ACTIONS
    from bastion.mail.queue import TABLE as MAIL

    return {"actions": (ACTIONS, ("target", "kind", "subject"), actions.retry_dead, "Platform actions"),
            "mail": (MAIL, ("kind", "subject_ref", "subject"), mail.requeue, "Mail")}


@router.get("/operations/deliveries")
def dead_deliveries_page(request: Request, kind: str = "actions", q: str = "", cursor: str = "", error: str = "",
                         db: Session = Depends(get_db), principal: Principal = needs(Perm.OPERATIONS)) -> Response:
    """Dead platform actions or mail (their attempts ran out, or the receiver refused them), newest first, searchable,
    keyset-paged; each retryable."""
    outboxes = _outboxes()
    kind = kind if kind in outboxes else "actions"
    table, columns, _, title = outboxes[kind]
    listed = table.dead_page(db, search=q, columns=columns, cursor=cursor or None, limit=50)
    return render(request, "operations_deliveries.html", {
        "rows": listed.rows, "kind": kind, "title": title, "kinds": {k: v[3] for k, v in outboxes.items()}, "q": q,
        "error": error, "next_url": next_url(request, listed.next_cursor)}, headers=NO_STORE)


@router.post("/operations/deliveries/{kind}/{row_id}/retry")
def retry_dead_delivery(request: Request, kind: str, row_id: int, db: Session = Depends(get_db),
                        principal: Principal = needs(Perm.OPERATIONS)) -> Response:
    """Give a dead action or message a fresh set of attempts (audited); its task message goes out with the commit."""
    outboxes = _outboxes()
    if kind not in outboxes:
        raise NotFound("There is no such outbox; choose actions or mail.")
    retry = outboxes[kind][2]
    return act_and_return(db, lambda: retry(db, row_id, actor=principal.actor, clock=get_state(request).clock),
                          f"/operations/deliveries?kind={kind}")


@router.post("/operations/dead-letters/{public_id}/retry")
def retry_dead_letter(request: Request, public_id: str, db: Session = Depends(get_db),
                      principal: Principal = needs(Perm.OPERATIONS)) -> Response:
    """Give a dead-lettered scan a fresh set of tries (audited), and publish its task at once."""
    state = get_state(request)
    queued: list[int] = []

    def act() -> None:
        _, message = batch.retry_dead(db, public_id, actor=principal.actor, clock=state.clock)
        queued.append(message)

    response = act_and_return(db, act, "/operations", anchor="dead-letters")
    if queued:
        publish_now(state, queued)
    return response
