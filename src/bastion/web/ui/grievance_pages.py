"""The grievance desk's pages: the public complaint form and status page, the queue and a complaint."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from bastion.auth.errors import AccountThrottled
from bastion.auth.permissions import Perm
from bastion.auth.principal import Principal
from bastion.errors import BastionError, InvalidInput
from bastion.media.errors import MediaError
from bastion.grievances import service
from bastion.web.complaint_cases import open_review_case
from bastion.web.guard import needs
from bastion.web.state import client_ip, get_db, get_state, platform_connector
from bastion.web.ui.acts import act_and_return
from bastion.web.ui.paging import next_url
from bastion.web.ui.render import render

router = APIRouter(include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store, private"}


@router.get("/complaints/new", dependencies=[needs(Perm.PUBLIC)])
def complaint_form(request: Request) -> Response:
    return render(request, "complaint_new.html", {"categories": service.CATEGORIES})


def _fingerprint(request: Request, db: Session, file: UploadFile | None) -> dict[str, Any] | None:
    """Hash a complainant's file under the scan limits, match it, and drop it: only the findings are kept."""
    if file is None or not file.filename:
        return None
    scanner = get_state(request).scanner
    data = file.file.read(scanner.limits.max_bytes + 1)
    if not data:
        return None
    if len(data) > scanner.limits.max_bytes:
        raise InvalidInput(f"The file is larger than {scanner.limits.max_bytes:,} bytes. Send the complaint without "
                           "it, or with a smaller copy.")
    try:
        hashes, outcome = scanner.fingerprint(db, data)
    except MediaError as exc:
        raise InvalidInput(f"The file could not be read as an image ({exc}). Send the complaint without it, or with "
                           "another copy.") from None
    return {"md5": hashes.md5, "pdq": hashes.pdq or "", "uploads": scanner.uploads_with(db, hashes.md5),
            "matches": [{"bank": m.bank_name, "classification": m.classification, "distance": m.distance,
                         "signal_type": m.signal_type} for m in outcome.matches]}


@router.post("/complaints/new", dependencies=[needs(Perm.PUBLIC)])
def complaint_submit(request: Request, category: str = Form(""), content_ref: str = Form(""),
                     description: str = Form(""), contact_email: str = Form(""), file: UploadFile | None = File(None),
                     db: Session = Depends(get_db)) -> Response:
    """Anyone may complain, without an account; the answer is a reference and a secret status link."""
    state = get_state(request)
    values = {"category": category, "content_ref": content_ref, "description": description,
              "contact_email": contact_email}
    try:
        service.refuse_if_blocked(db, client_ip(request), state.clock.now())
        media = _fingerprint(request, db, file)
        with platform_connector(request) as connector:
            complaint, token = service.submit(db, channel="public", category=category, content_ref=content_ref,
                                              description=description, contact_email=contact_email,
                                              client=client_ip(request), media=media, connector=connector,
                                              clock=state.clock)
            open_review_case(db, complaint, state.clock)
    except AccountThrottled as exc:
        db.commit()  # the attempt still counts
        return render(request, "complaint_new.html", {"categories": service.CATEGORIES, "error": exc.message,
                                                      "values": values}, status_code=exc.status,
                      headers={"Retry-After": str(exc.retry_after_seconds)})
    except BastionError as exc:
        db.rollback()
        return render(request, "complaint_new.html", {"categories": service.CATEGORIES, "error": exc.message,
                                                      "values": values}, status_code=exc.status)
    db.commit()
    link = f"{state.settings.base_url.rstrip('/')}/complaints/status?token={token}"
    return render(request, "complaint_received.html", {"complaint": complaint, "link": link}, headers=NO_STORE)


@router.get("/complaints/status", dependencies=[needs(Perm.PUBLIC)])
def complaint_status(request: Request, token: str = "", db: Session = Depends(get_db)) -> Response:
    """What the complainant may know: the reference, the state, what was decided. Nothing about anyone else."""
    complaint = service.by_token(db, token)
    return render(request, "complaint_status.html", {
        "complaint": complaint, "events": service.events_of(db, complaint.id, public_only=True),
        "category": service.CATEGORIES[complaint.category]}, headers={**NO_STORE, "Referrer-Policy": "no-referrer"})


@router.get("/grievances")
def grievance_queue(request: Request, q: str = "", cursor: str = "", db: Session = Depends(get_db),
                    principal: Principal = needs(Perm.GRIEVANCE_READ)) -> Response:
    """Open complaints by deadline, one keyset page at a time; searched by exact reference."""
    now = get_state(request).clock.now()
    page = service.queue(db, search=q, cursor=cursor or None)
    return render(request, "grievances.html", {"rows": page.rows, "q": q, "now": now, "paged": bool(cursor),
                                               "next_url": next_url(request, page.next_cursor),
                                               "categories": service.CATEGORIES}, headers=NO_STORE)


@router.get("/grievances/{complaint_id}")
def grievance_page(request: Request, complaint_id: int, error: str = "", db: Session = Depends(get_db),
                   principal: Principal = needs(Perm.GRIEVANCE_READ)) -> Response:
    complaint = service.get(db, complaint_id)
    now = get_state(request).clock.now()
    return render(request, "grievance.html", {
        "c": complaint, "clocks": service.clocks_of(db, complaint), "now": now, "error": error,
        "events": service.events_of(db, complaint.id), "categories": service.CATEGORIES,
        "outcomes": service.OUTCOMES}, headers=NO_STORE)


@router.post("/grievances/{complaint_id}/acknowledge")
def acknowledge(request: Request, complaint_id: int, db: Session = Depends(get_db),
                principal: Principal = needs(Perm.GRIEVANCE_HANDLE)) -> Response:
    state = get_state(request)
    return act_and_return(db, lambda: service.acknowledge(
        db, service.get(db, complaint_id), actor=principal.actor, clock=state.clock, base_url=state.settings.base_url),
        f"/grievances/{complaint_id}")


@router.post("/grievances/{complaint_id}/decide")
def decide(request: Request, complaint_id: int, outcome: str = Form(""), text: str = Form(""),
           db: Session = Depends(get_db), principal: Principal = needs(Perm.GRIEVANCE_HANDLE)) -> Response:
    state = get_state(request)
    return act_and_return(db, lambda: service.decide(
        db, service.get(db, complaint_id), outcome=outcome, text=text, actor=principal.actor,
        user_id=principal.user_id, clock=state.clock, base_url=state.settings.base_url), f"/grievances/{complaint_id}")
