"""Bulk decisions on the review side: select items of one bank entry, see exactly what will happen, apply.

Three steps, each `cases.review` like a single decision: the selection (pending items of the entry in
the reviewer's queues), the confirmation (every case, item and resulting action, with the snapshot's
digest carried in the form), the act. A selection that changed meanwhile comes back as the selection
page, with what changed. Hashes and metadata only: these pages never show or link media.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion import audit
from bastion.auth.permissions import Perm
from bastion.auth.principal import Principal
from bastion.auth.users import acting_user
from bastion.cases import bulk, routing
from bastion.cases.enforce import Enforcement
from bastion.cases.errors import StaleSelection
from bastion.cases.kinds import classification_titles, classifications_of
from bastion.errors import BastionError
from bastion.scanning.models import Scan
from bastion.web.guard import needs
from bastion.web.state import get_db, get_state
from bastion.web.ui.render import render
from bastion.web.ui.review_pages import NO_STORE, visible_queues

router = APIRouter(include_in_schema=False)


def _selection(request: Request, db: Session, principal: Principal, entry: int, *, error: str = "",
               changed: list[str] | None = None, picked: set[int] | None = None, status_code: int = 200) -> Response:
    rows = bulk.candidates(db, entry, visible=visible_queues(db, principal))
    scans = {s.id: s for s in db.scalars(select(Scan).where(Scan.id.in_([i.scan_id for i, _ in rows])))} if rows else {}
    names = routing.queue_names(db)
    return render(request, "bulk.html", {
        "entry": entry, "rows": rows, "scans": scans, "queue_names": names, "error": error, "changed": changed or [],
        "picked": picked if picked is not None else {i.id for i, _ in rows}, "plan": None,
        "classifications": classifications_of("csam"), "class_titles": classification_titles("csam"),
        "done": request.query_params.get("done", "")}, status_code=status_code, headers=NO_STORE)


def _verdict(decision: str, classification: str, reason: str, disable_entry: bool) -> bulk.Verdict:
    return bulk.Verdict(decision=decision, classification=classification, reason=reason.strip(),
                        disable_entry=disable_entry)


@router.get("/review/bulk")
def bulk_select(request: Request, entry: int, db: Session = Depends(get_db),
                principal: Principal = needs(Perm.CASES_REVIEW)) -> Response:
    """Pending items that matched one bank entry, across the reviewer's queues, all ticked."""
    return _selection(request, db, principal, entry)


@router.post("/review/bulk/preview")
def bulk_preview(request: Request, entry: int = Form(...), items: list[int] = Form([]), decision: str = Form(""),
                 classification: str = Form(""), reason: str = Form(""), disable_entry: bool = Form(False),
                 remove: bool = Form(False), restrict: str = Form(""), preserve: bool = Form(False),
                 report: bool = Form(False), add_to_bank: bool = Form(False), db: Session = Depends(get_db),
                 principal: Principal = needs(Perm.CASES_REVIEW)) -> Response:
    """The confirmation: each case and item, what each becomes, what each concluded case requests."""
    verdict = _verdict(decision, classification, reason, disable_entry)
    choice = Enforcement(remove=remove, restrict=restrict, preserve=preserve, report=report, add_to_bank=add_to_bank)
    try:
        shown = bulk.plan(db, items, verdict, choice, user=acting_user(db, principal.user_id),
                          visible=visible_queues(db, principal), clock=get_state(request).clock)
    except BastionError as exc:
        db.rollback()
        return _selection(request, db, principal, entry, error=exc.message, picked=set(items), status_code=exc.status)
    db.rollback()  # a preview changes nothing
    return render(request, "bulk.html", {"entry": entry, "plan": shown, "verdict": verdict, "choice": choice,
                                         "items": items}, headers=NO_STORE)


@router.post("/review/bulk/apply")
def bulk_apply(request: Request, entry: int = Form(...), items: list[int] = Form([]), decision: str = Form(""),
               classification: str = Form(""), reason: str = Form(""), disable_entry: bool = Form(False),
               remove: bool = Form(False), restrict: str = Form(""), preserve: bool = Form(False),
               report: bool = Form(False), add_to_bank: bool = Form(False), snapshot: str = Form(""),
               digest: str = Form(""), db: Session = Depends(get_db),
               principal: Principal = needs(Perm.CASES_REVIEW)) -> Response:
    """Apply exactly the confirmed selection, or nothing: a changed selection comes back with what changed."""
    state = get_state(request)
    verdict = _verdict(decision, classification, reason, disable_entry)
    choice = Enforcement(remove=remove, restrict=restrict, preserve=preserve, report=report, add_to_bank=add_to_bank)
    try:
        done = bulk.apply(db, items, verdict, choice, user=acting_user(db, principal.user_id),
                          visible=visible_queues(db, principal), clock=state.clock, seen=snapshot, digest=digest,
                          vault=state.services.get("evidence.vault"))
    except BastionError as exc:
        db.rollback()
        audit.record(db, actor=principal.actor, action="case.bulk_refused", subject=f"entry:{entry}",
                     clock=state.clock, details={"items": items, "reason": exc.code})
        db.commit()
        changed = exc.changes if isinstance(exc, StaleSelection) else None
        return _selection(request, db, principal, entry, error=exc.message, changed=changed, picked=set(items),
                          status_code=exc.status)
    db.commit()
    count = sum(len(c.items) for c in done.cases)
    return RedirectResponse(f"/review/bulk?entry={entry}&done={count}", status_code=303)
