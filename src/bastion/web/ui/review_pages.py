"""The review queue and case pages, built for reviewers' wellbeing.

Media appears only as server-rendered thumbnails, blurred and greyscale unless the
reviewer's settings say otherwise; the full image is served only for the one item a
reviewer has revealed, and only while that reviewer holds the case's claim (a review lead,
`media.reveal_any`, may reveal any case). Every thumbnail, reveal, full view and refused attempt
is audited.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion import audit
from bastion.actions import outbox
from bastion.authorities import reports as authority_reports
from bastion.auth.users import acting_user
from bastion.auth.permissions import Perm
from bastion.auth.principal import Principal
from bastion.cases import search as case_search
from bastion.cases import autoaction, break_timer, routing, service, wellness
from bastion.cases.kinds import KINDS, classification_titles, classifications_of
from bastion.cases.enforce import Enforcement, decide_case
from bastion.cases.errors import CaseNotFound, ClaimRequired, ExposureCapReached, NotRevealed
from bastion.cases.models import Case, CaseItem
from bastion.clock import Clock
from bastion.cases.policy import PERSONAL, set_personal, setting_for
from bastion.cases.views import case_view, placement
from bastion.errors import BastionError, InvalidInput
from bastion.web.complaint_cases import resolve_from_case
from bastion.web.guard import needs
from bastion.web.state import get_db, get_state
from bastion.web.ui.paging import next_url, parse_day
from bastion.web.ui import video_review_pages
from bastion.web.ui.render import render

router = APIRouter(include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store, private"}


def visible_queues(db: Session, principal: Principal) -> list[int] | None:
    """The queues whose cases this viewer sees (None: all, for leads and admins); unrouted cases always."""
    return routing.visible_queue_ids(db, principal.user_id, sees_all=principal.can(Perm.QUEUES_MANAGE))


def queue_param(queue: str) -> int | None:
    if not queue:
        return None
    if not queue.isdigit():
        from bastion.errors import InvalidInput

        raise InvalidInput("Pick a queue from the list.")
    return int(queue)


@router.get("/review")
def review_queue(request: Request, account: str = "", content: str = "", hash: str = "", bank: str = "",
                 status: str = "", reviewer: str = "", opened_from: str = Query("", alias="from"),
                 opened_to: str = Query("", alias="to"), queue: str = "", cursor: str = "",
                 db: Session = Depends(get_db), principal: Principal = needs(Perm.CASES_READ)) -> Response:
    """The open queue by urgency, or, with any filter, every matching case newest first; paged by keyset.

    Only the viewer's queues (and unrouted cases); with a queue picked, that queue in its own order.
    """
    clock = get_state(request).clock
    found = case_search.CaseFilter(account_id=account, content_id=content, hash=hash, bank=bank, status=status,
                                   reviewer=reviewer, opened_from=parse_day(opened_from, "from"),
                                   opened_to=parse_day(opened_to, "to"))
    visible = visible_queues(db, principal)
    picked = queue_param(queue)
    page = case_search.search(db, found, cursor=cursor or None, visible=visible, queue_id=picked)
    params = {k: v for k, v in request.query_params.items() if k != "cursor" and v}
    names = routing.queue_names(db)
    mine = [(qid, name) for qid, name in sorted(names.items(), key=lambda kv: kv[1])
            if visible is None or qid in visible]
    return render(request, "review.html", {"cases": page.rows, "now": clock.now(), "filters": params,
                                           "searching": not found.is_queue(), "statuses": list(service.TRANSITIONS),
                                           "queue_names": names, "my_queues": mine, "picked_queue": picked,
                                           "next_url": next_url(request, page.next_cursor),
                                           "capped": _capped_reviewers(db, principal, clock),
                                           "exposure": wellness.exposure(db, principal.user_id, clock)})


def _capped_reviewers(db: Session, principal: Principal, clock: Clock) -> list[tuple[int, str, int]]:
    """For a lead: reviewers stopped by today's cap, whom they may let continue."""
    if not principal.can(Perm.REVIEW_LEAD):
        return []
    from bastion.auth.models import User

    return [(uid, getattr(db.get(User, uid), "username", str(uid)), n) for uid, n in wellness.capped_today(db, clock)]


@router.post("/review/exposure/{user_id}/lift")
def exposure_lift(request: Request, user_id: int, reason: str = Form(""), db: Session = Depends(get_db),
                  principal: Principal = needs(Perm.REVIEW_LEAD)) -> Response:
    """A review lead lets a capped reviewer continue today; the reason is required and audited."""
    wellness.lift_cap(db, user_id, lead=principal.actor, reason=reason, clock=get_state(request).clock)
    db.commit()
    return RedirectResponse("/review", status_code=303)


@router.post("/review/next")
def review_next(request: Request, queue: str = Form(""), db: Session = Depends(get_db),
                principal: Principal = needs(Perm.CASES_REVIEW)) -> Response:
    try:
        case = service.next_case(db, acting_user(db, principal.user_id), clock=get_state(request).clock,
                                 visible=visible_queues(db, principal), queue_id=queue_param(queue))
    except ExposureCapReached:
        db.rollback()
        return RedirectResponse("/review", status_code=303)  # the page says why
    db.commit()
    return _landing(case, queue if queue.isdigit() else "")


@router.get("/cases/{case_id}")
def case_page(request: Request, case_id: int, error: str | None = None, db: Session = Depends(get_db),
              principal: Principal = needs(Perm.CASES_READ)) -> Response:
    state = get_state(request)
    case = service.get_case(db, case_id)
    if not routing.may_see(case, visible_queues(db, principal)):
        raise CaseNotFound(f"No case {case_id} in your queues.")
    view = case_view(db, case)
    names = routing.queue_names(db)
    context = {
        "view": view, "now": state.clock.now(), "classifications": classifications_of(case.kind), "error": error,
        "class_titles": classification_titles(case.kind), "kind_title": KINDS.get(case.kind, case.kind),
        "source_title": routing.SOURCES.get(case.source, case.source),
        "queue_name": names.get(case.queue_id, "General queue") if case.queue_id else "General queue",
        "all_queues": routing.queues(db),
        "routed_by": placement(view.events, names.get(case.queue_id, "")) if case.queue_id else "",
        "holder": service.holder_name(db, view.case),
        "revealed": wellness.on_page_load(db, principal.user_id) if _may_reveal(db, view.case, principal, state.clock)
        else None,
        "may_reveal": _may_reveal(db, view.case, principal, state.clock),
        "exposure": wellness.exposure(db, principal.user_id, state.clock),
        "unseen_ok": {i.item.id for i in view.items if service.may_confirm_unseen(db, i.item)},
        "actions": outbox.actions_for(db, f"case:{view.case.id}"),
        "duties": authority_reports.duties(db, view.case),
        "videos": video_review_pages.video_context(db, view.items, principal),
        "followups": reversal_followups(view.events),
        "work_queue": work_queue(request),
    }
    context["stage"] = wellness.stage(db, principal.user_id, context["revealed"]) if context["revealed"] else None
    db.commit()  # a reveal lasts one page load: this one used it up
    return render(request, "case.html", context, headers=NO_STORE)


#: Case events that leave something owed after an appeal reversed the decision, and their titles.
FOLLOWUP_TITLES = {"ncmec_reversal_followup": "CyberTipline report", "dsa_reversal_recorded": "DSA statement of reasons"}


def reversal_followups(events: list[Any]) -> list[dict[str, Any]]:
    """What a reversal could not undo by itself (a filed CyberTipline report, a submitted DSA statement)."""
    out = []
    for e in events:
        if e.kind in FOLLOWUP_TITLES:
            out.append({"kind": e.kind, "title": FOLLOWUP_TITLES[e.kind], "at": e.at,
                        "text": str(json.loads(e.details or "{}").get("todo", ""))})
    return out


def work_queue(request: Request) -> str:
    """The queue the reviewer is working (`?queue=` on the case page's forms), or '' for all their queues.

    Carried through every redirect of the case page so Submit & Next keeps to the queue they picked.
    """
    queue = request.query_params.get("queue", "")
    return queue if queue.isdigit() else ""


def _back(case_id: int, anchor: str = "", error: str = "", queue: str = "") -> RedirectResponse:
    query = "&".join(part for part in (f"queue={queue}" if queue else "", f"error={error}" if error else "") if part)
    return RedirectResponse(f"/cases/{case_id}{'?' + query if query else ''}{'#' + anchor if anchor else ''}",
                            status_code=303)


def _landing(case: Case | None, queue: str) -> RedirectResponse:
    """Where a reviewer lands after asking for the next case: that case, or the queue page saying it is empty."""
    keep = f"queue={queue}" if queue else ""
    if case is None:
        return RedirectResponse(f"/review?empty=1{'&' + keep if keep else ''}", status_code=303)
    return RedirectResponse(f"/cases/{case.id}{'?' + keep if keep else ''}", status_code=303)


def _act(request: Request, db: Session, case_id: int, action, anchor: str = "") -> Response:  # type: ignore[no-untyped-def]
    """Run a decision; typed refusals come back to the case page as a message, nothing half-done."""
    try:
        action()
    except BastionError as exc:
        db.rollback()
        from urllib.parse import quote

        return _back(case_id, anchor, quote(exc.message), work_queue(request))
    db.commit()
    return _back(case_id, anchor, queue=work_queue(request))


@router.post("/cases/{case_id}/claim")
def case_claim(request: Request, case_id: int, db: Session = Depends(get_db),
               principal: Principal = needs(Perm.CASES_REVIEW)) -> Response:
    clock = get_state(request).clock
    return _act(request, db, case_id, lambda: service.claim(db, service.get_case(db, case_id),
                                                            acting_user(db, principal.user_id), clock=clock,
                                                            visible=visible_queues(db, principal)))


@router.post("/cases/{case_id}/move")
def case_move(request: Request, case_id: int, queue_id: str = Form(""), reason: str = Form(""),
              db: Session = Depends(get_db), principal: Principal = needs(Perm.CASES_REVIEW)) -> Response:
    """Move a case to another queue (or the general one); the reason goes into its history and the audit log."""
    clock = get_state(request).clock

    def act() -> None:
        case = service.get_case(db, case_id)
        if not routing.may_see(case, visible_queues(db, principal)):
            raise CaseNotFound(f"No case {case_id} in your queues.")
        routing.move(db, case, queue_param(queue_id), actor=principal.actor, reason=reason, clock=clock)

    return _act(request, db, case_id, act)


@router.post("/cases/{case_id}/release")
def case_release(request: Request, case_id: int, db: Session = Depends(get_db),
                 principal: Principal = needs(Perm.CASES_REVIEW)) -> Response:
    clock = get_state(request).clock
    return _act(request, db, case_id, lambda: service.release(db, service.get_case(db, case_id),
                                                              acting_user(db, principal.user_id), clock=clock))


def _may_reveal(db: Session, case: Case, principal: Principal, clock: Clock) -> bool:
    return service.may_reveal(case, principal.user_id, any_case=principal.can(Perm.MEDIA_REVEAL_ANY), clock=clock)


def _refuse_reveal(db: Session, principal: Principal, item: CaseItem, act: str, clock: Clock) -> None:
    """Record the refused attempt (it is worth knowing who tried), then refuse."""
    db.rollback()
    audit.record(db, actor=principal.actor, action="media.refused", subject=f"case_item:{item.id}",
                 details={"case": item.case_id, "act": act, "reason": "claim_required"}, clock=clock)
    db.commit()
    raise ClaimRequired()


@router.get("/cases/{case_id}/items/{item_id}/thumb")
def item_thumbnail(request: Request, case_id: int, item_id: int, db: Session = Depends(get_db),
                   principal: Principal = needs(Perm.MEDIA_VIEW)) -> Response:
    """A small thumbnail: blurred and grey per the viewer's settings, unblurred only for their revealed item."""
    state = get_state(request)
    case = service.get_case(db, case_id)
    if not routing.may_see(case, visible_queues(db, principal)):
        raise CaseNotFound(f"No case {case_id} in your queues.")
    item = service.get_item(db, case, item_id)
    data = _media(request, db, item, principal, "thumbnail")
    stage = wellness.stage(db, principal.user_id, item.id) if _may_reveal(db, case, principal, state.clock) else None
    blur = stage is None and bool(setting_for(db, principal.user_id, "wellness.blur"))
    grey = stage != wellness.COLOUR and (stage is not None or bool(setting_for(db, principal.user_id, "wellness.greyscale")))
    audit.record(db, actor=principal.actor, action="media.thumbnail", subject=f"case_item:{item.id}",
                 details={"case": case_id, "blurred": blur, "greyscale": grey}, clock=state.clock)
    db.commit()
    if data is None:
        return Response(status_code=404, headers=NO_STORE)
    return Response(wellness.thumbnail(data, blur=blur, greyscale=grey), media_type="image/png", headers=NO_STORE)


@router.post("/cases/{case_id}/items/{item_id}/reveal")
def item_reveal(request: Request, case_id: int, item_id: int, db: Session = Depends(get_db),
                principal: Principal = needs(Perm.MEDIA_VIEW)) -> Response:
    """Reveal one item: only the reviewer holding the case's claim, or a lead, may."""
    state = get_state(request)
    case = service.get_case(db, case_id)
    item = service.get_item(db, case, item_id)
    if not _may_reveal(db, case, principal, state.clock):
        _refuse_reveal(db, principal, item, "reveal", state.clock)
    wellness.reveal(db, principal.user_id, item.id, state.clock)
    service.mark_viewed(db, item)
    audit.record(db, actor=principal.actor, action="media.reveal", subject=f"case_item:{item.id}",
                 details={"case": case_id, "claim_holder": case.claimed_by == principal.user_id,
                         "stage": wellness.SHARP}, clock=state.clock)
    db.commit()
    return _back(case_id, f"item-{item.id}", queue=work_queue(request))


@router.post("/cases/{case_id}/items/{item_id}/colour")
def item_colour(request: Request, case_id: int, item_id: int, db: Session = Depends(get_db),
                principal: Principal = needs(Perm.MEDIA_VIEW)) -> Response:
    """The last reveal step, colour: only after the sharp greyscale step, for whoever may reveal the item."""
    clock = get_state(request).clock
    case = service.get_case(db, case_id)
    item = service.get_item(db, case, item_id)
    if not _may_reveal(db, case, principal, clock):
        _refuse_reveal(db, principal, item, "colour", clock)
    wellness.reveal_colour(db, principal.user_id, item.id, clock)
    audit.record(db, actor=principal.actor, action="media.reveal", subject=f"case_item:{item.id}",
                 details={"case": case_id, "claim_holder": case.claimed_by == principal.user_id,
                          "stage": wellness.COLOUR}, clock=clock)
    db.commit()
    return _back(case_id, f"item-{item.id}", queue=work_queue(request))


@router.post("/review/break")
def take_break(request: Request, db: Session = Depends(get_db), principal: Principal = needs(Perm.MEDIA_VIEW)
               ) -> Response:
    """Take a break: blur whatever is revealed and restart the session timer (audited)."""
    wellness.hide(db, principal.user_id)
    break_timer.take_break(db, principal.user_id, actor=principal.actor, clock=get_state(request).clock)
    db.commit()
    return RedirectResponse("/review?break=1", status_code=303)


@router.post("/cases/{case_id}/hide")
def item_hide(request: Request, case_id: int, db: Session = Depends(get_db),
              principal: Principal = needs(Perm.MEDIA_VIEW)) -> Response:
    wellness.hide(db, principal.user_id)
    db.commit()
    return _back(case_id, queue=work_queue(request))


@router.get("/cases/{case_id}/items/{item_id}/full")
def item_full(request: Request, case_id: int, item_id: int, db: Session = Depends(get_db),
              principal: Principal = needs(Perm.MEDIA_VIEW)) -> Response:
    """The revealed item only, and only while its viewer still holds the case (or is a lead)."""
    clock = get_state(request).clock
    case = service.get_case(db, case_id)
    item = service.get_item(db, case, item_id)
    if not _may_reveal(db, case, principal, clock):
        _refuse_reveal(db, principal, item, "full", clock)
    if wellness.revealed_item(db, principal.user_id) != item.id:
        raise NotRevealed("Reveal this item first; only one item is shown unblurred at a time.")
    data = _media(request, db, item, principal, "view")
    audit.record(db, actor=principal.actor, action="media.view", subject=f"case_item:{item.id}",
                 details={"case": case_id}, clock=clock)
    db.commit()
    if data is None:
        return Response(status_code=404, headers=NO_STORE)
    colour = wellness.stage(db, principal.user_id, item.id) == wellness.COLOUR
    return Response(wellness.revealed_image(data, colour=colour), media_type="image/png", headers=NO_STORE)


def _media(request: Request, db: Session, item: CaseItem, principal: Principal, purpose: str) -> bytes | None:
    store = get_state(request).services.get("media_store")
    if store is None or not item.media_ref and not item.content_id:
        return None
    return store.load(db, item, actor=principal.actor, reason=f"review {purpose}")


def enforcement_form(remove: bool = Form(False), restrict: str = Form(""), preserve: bool = Form(False),
                     report: bool = Form(False), add_to_bank: bool = Form(False)) -> Enforcement:
    """The conclude form's choices; the item forms carry a copy of them when decided from the keyboard."""
    return Enforcement(remove=remove, restrict=restrict, preserve=preserve, report=report, add_to_bank=add_to_bank)


def _and_next(request: Request, db: Session, case_id: int, principal: Principal, decided: Response,
              choice: Enforcement | None) -> Response:
    """Decide and next: after a decision from the keyboard, the next pending item, or conclude and the next case.

    The conclusion is the Submit & Next path itself (`_conclude`), with the choices the conclude form
    showed (copied into the item form); without them the reviewer is left on the case to conclude it.
    """
    if "error=" in decided.headers.get("location", ""):
        return decided
    pending = [i.id for i in service.items_of(db, case_id) if i.decision == "pending"]
    if pending or choice is None:
        return _back(case_id, f"item-{pending[0]}" if pending else "conclude", queue=work_queue(request))
    return _conclude(request, db, case_id, principal, choice, next=True)


@router.post("/cases/{case_id}/items/{item_id}/confirm")
def item_confirm(request: Request, case_id: int, item_id: int, classification: str = Form(""),
                 annotations: str = Form(""), and_next: bool = Form(False), conclude_choice: bool = Form(False),
                 choice: Enforcement = Depends(enforcement_form), db: Session = Depends(get_db),
                 principal: Principal = needs(Perm.CASES_REVIEW)) -> Response:
    """Confirm one item; with `and_next` (the `c` key), go on as `_and_next` says."""
    clock = get_state(request).clock

    def act() -> None:
        case = service.get_case(db, case_id)
        item, user = service.get_item(db, case, item_id), acting_user(db, principal.user_id)
        service.confirm_item(db, case, item, user, classification=classification, annotations=annotations.split(),
                             clock=clock)

    decided = _act(request, db, case_id, act, f"item-{item_id}")
    return _and_next(request, db, case_id, principal, decided, choice if conclude_choice else None) if and_next \
        else decided


@router.post("/cases/{case_id}/items/{item_id}/reject")
def item_reject(request: Request, case_id: int, item_id: int, reason: str = Form(""),
                disable_entry: bool = Form(False), and_next: bool = Form(False), conclude_choice: bool = Form(False),
                choice: Enforcement = Depends(enforcement_form), db: Session = Depends(get_db),
                principal: Principal = needs(Perm.CASES_REVIEW)) -> Response:
    """Not a match; with `and_next` (Enter in the reason field), go on as `_and_next` says."""
    clock = get_state(request).clock

    def act() -> None:
        case = service.get_case(db, case_id)
        item, user = service.get_item(db, case, item_id), acting_user(db, principal.user_id)
        service.reject_item(db, case, item, user, reason=reason, disable_entry=disable_entry, clock=clock)

    decided = _act(request, db, case_id, act, f"item-{item_id}")
    return _and_next(request, db, case_id, principal, decided, choice if conclude_choice else None) if and_next \
        else decided


@router.post("/cases/{case_id}/escalate")
def case_escalate(request: Request, case_id: int, note: str = Form(""), db: Session = Depends(get_db),
                  principal: Principal = needs(Perm.CASES_REVIEW)) -> Response:
    clock = get_state(request).clock
    return _act(request, db, case_id, lambda: service.escalate(db, service.get_case(db, case_id),
                                                               acting_user(db, principal.user_id), note=note, clock=clock))


@router.get("/review/settings")
def personal_settings(request: Request, db: Session = Depends(get_db), principal: Principal = needs(Perm.MEDIA_VIEW)
                      ) -> Response:
    values = {key: setting_for(db, principal.user_id, key) for key in PERSONAL}
    return render(request, "review_settings.html", {"values": values})


@router.post("/review/settings")
def personal_settings_save(request: Request, key: str = Form(...), value: str = Form(...),
                           db: Session = Depends(get_db), principal: Principal = needs(Perm.MEDIA_VIEW)) -> Response:
    set_personal(db, principal.user_id, key, value, actor=principal.actor, clock=get_state(request).clock)
    db.commit()
    return RedirectResponse("/review/settings", status_code=303)


@router.post("/cases/{case_id}/conclude")
def case_conclude(request: Request, case_id: int, next: bool = Form(False),
                  choice: Enforcement = Depends(enforcement_form), db: Session = Depends(get_db),
                  principal: Principal = needs(Perm.CASES_REVIEW)) -> Response:
    """Conclude; with `next` (Submit & Next), the reviewer lands on the next case, already claimed."""
    return _conclude(request, db, case_id, principal, choice, next=next)


def _conclude(request: Request, db: Session, case_id: int, principal: Principal, choice: Enforcement, *,
              next: bool) -> Response:
    """Conclude the case with `choice`; with `next`, claim the next case from the queue being worked.

    The one way a case is concluded from the pages: the conclude form, Submit & Next and a keyboard
    decision of the last pending item (`_and_next`) all come here.
    """
    state = get_state(request)
    clock = state.clock

    def conclude() -> None:
        case = service.get_case(db, case_id)
        decide_case(db, case, acting_user(db, principal.user_id), choice, clock=clock,
                    vault=state.services.get("evidence.vault"))
        resolve_from_case(db, case, actor=principal.actor, user_id=principal.user_id, clock=clock,
                          base_url=state.settings.base_url)

    done = _act(request, db, case_id, conclude)
    if not next or "error=" in done.headers.get("location", ""):
        return done
    queue = work_queue(request)
    try:
        following = service.next_case(db, acting_user(db, principal.user_id), clock=clock,
                                      visible=visible_queues(db, principal), queue_id=queue_param(queue))
    except (ExposureCapReached, CaseNotFound):
        db.rollback()
        return RedirectResponse("/review", status_code=303)  # the page says why (the cap, or the queue's gone)
    db.commit()
    return _landing(following, queue)


# -- auto-action policies ---------------------------------------------------------------------------

@router.get("/review/policies")
def policies_page(request: Request, dry_run: int = 0, days: int = 7, db: Session = Depends(get_db),
                  principal: Principal = needs(Perm.CASES_READ)) -> Response:
    """Which policies act before review, on which banks, and what one would have done (a dry run)."""
    from bastion.banks.models import Bank

    clock = get_state(request).clock
    result = autoaction.dry_run(db, autoaction.get_policy(db, dry_run), days=days, clock=clock) if dry_run else None
    banks = list(db.scalars(select(Bank).where(Bank.kind == "match", Bank.deleted_at.is_(None)).order_by(Bank.name)))
    return render(request, "review_policies.html", {"policies": autoaction.policies(db), "banks": banks,
                                                    "dry": result, "dry_policy": dry_run, "days": days,
                                                    "exact": autoaction.EXACT,
                                                    "pdq_ceiling": autoaction.PDQ_CEILING})


@router.post("/review/policies")
def policies_save(request: Request, name: str = Form(""), enabled: bool = Form(False), md5: bool = Form(False),
                  sha256: bool = Form(False), pdq: bool = Form(False), pdq_max_distance: str = Form(""),
                  remove: bool = Form(False), preserve: bool = Form(False),
                  suspend: bool = Form(False), db: Session = Depends(get_db),
                  principal: Principal = needs(Perm.SETTINGS_MANAGE)) -> Response:
    types = [t for t, on in (("md5", md5), ("sha256", sha256), ("pdq", pdq)) if on]
    autoaction.save_policy(db, name=name, enabled=enabled, signal_types=types, remove=remove, preserve=preserve,
                           suspend=suspend, pdq_max_distance=_distance(pdq_max_distance), actor=principal.actor,
                           clock=get_state(request).clock)
    db.commit()
    return RedirectResponse("/review/policies", status_code=303)


def _distance(raw: str) -> int | None:
    """The form's max-distance box: empty means none; anything but a whole number is refused with a fix."""
    raw = raw.strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise InvalidInput(f"Enter the PDQ maximum distance as a whole number from 0 to {autoaction.PDQ_CEILING}.")
    return int(raw)


@router.post("/review/policies/banks/{bank_id}")
def policies_bank(request: Request, bank_id: int, high_confidence: bool = Form(False), db: Session = Depends(get_db),
                  principal: Principal = needs(Perm.SETTINGS_MANAGE)) -> Response:
    autoaction.set_high_confidence(db, bank_id, high_confidence, actor=principal.actor, clock=get_state(request).clock)
    db.commit()
    return RedirectResponse("/review/policies", status_code=303)
