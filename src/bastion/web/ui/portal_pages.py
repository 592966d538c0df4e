"""The officer portal: registration, email confirmation, requests, reminders, follow-ups, downloads.

Officers are external users with the `officer` role. An account starts disabled: the officer
confirms their official address through a mailed link, legal staff approve the account, and the
first login enrols a second factor (mandatory for the role). An officer sees only their own
requests; anyone else's request is a 404, never a 403, so ids reveal nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from bastion.auth.errors import AccountThrottled
from bastion.auth.permissions import Perm
from bastion.auth.principal import Principal
from bastion.errors import BastionError, InvalidInput
from bastion.legal import agencies, catalogue, directory, messages, portal
from bastion.legal import officers as officers_service
from bastion.legal.models import Requester
from bastion.legal.schemas import ACCOUNT_KINDS, RequestInput, RequestUpdate, parse_accounts, parse_sections
from bastion.web import downloads
from bastion.web.guard import needs
from bastion.web.state import client_ip, get_db, get_state
from bastion.web.ui.acts import act_and_return
from bastion.web.ui.paging import next_url
from bastion.web.ui.render import render

router = APIRouter(include_in_schema=False)
MAX_DOCUMENT = 20 * 1024 * 1024


@router.get("/portal/register", dependencies=[needs(Perm.PUBLIC)])
def register_form(request: Request) -> Response:
    return render(request, "portal_register.html")


@router.post("/portal/register", dependencies=[needs(Perm.PUBLIC)])
def register_submit(request: Request, name: str = Form(...), email: str = Form(...), phone: str = Form(""),
                    password: str = Form(...), db: Session = Depends(get_db)) -> Response:
    """Create the (disabled) officer account and mail the confirmation link."""
    state = get_state(request)
    try:
        officers_service.register(db, name=name, email=email, phone=phone, password=password, clock=state.clock,
                                  base_url=state.settings.base_url, client=client_ip(request))
    except AccountThrottled as exc:
        db.commit()  # the attempt still counts
        return render(request, "portal_register.html", {"error": exc.message, "name": name, "email": email,
                                                        "phone": phone}, status_code=exc.status,
                      headers={"Retry-After": str(exc.retry_after_seconds)})
    except BastionError as exc:
        db.rollback()
        return render(request, "portal_register.html", {"error": exc.message, "name": name, "email": email,
                                                        "phone": phone}, status_code=exc.status)
    db.commit()
    return render(request, "portal_message.html", {  # the same answer for a new, known or unknown address
        "title": "Check your mail",
        "text": f"If {email} can register, a confirmation link is on its way to it. Open it to confirm the "
                "address; legal staff then approve your account and you can log in."})


@router.get("/portal/confirm", dependencies=[needs(Perm.PUBLIC)])
def confirm(request: Request, token: str = "", db: Session = Depends(get_db)) -> Response:
    try:
        requester = portal.confirm_email(db, token, clock=get_state(request).clock)
    except BastionError as exc:
        db.rollback()
        return render(request, "portal_message.html", {"title": "Link not valid", "text": exc.message},
                      status_code=exc.status)
    db.commit()
    return render(request, "portal_message.html", {
        "title": "Address confirmed",
        "text": f"{requester.email} is confirmed. Legal staff will approve your account; then log in and set up "
                "your second factor."})


@router.get("/portal")
def home(request: Request, q: str = "", status: str = "", cursor: str = "", db: Session = Depends(get_db),
         principal: Principal = needs(Perm.OFFICER_PORTAL)) -> Response:
    """The officer's own requests newest first, searchable by reference, filterable by status, keyset-paged."""
    requester = portal.requester_for_user(db, principal.user_id)
    page = portal.own_requests_page(db, requester, reference=q, status=status, cursor=cursor or None)
    return render(request, "portal_home.html", {
        "requester": requester, "requests": page.rows, "statuses": portal.PUBLIC_STATUSES,
        "title_of": portal.public_title, "filters": {"q": q, "status": status},
        "next_url": next_url(request, page.next_cursor)})


@router.get("/portal/requests/new")
def new_form(request: Request, db: Session = Depends(get_db), principal: Principal = needs(Perm.OFFICER_PORTAL)
             ) -> Response:
    return render(request, "portal_new.html", _form_context(db, portal.requester_for_user(db, principal.user_id)))


#: How many recent requests the form suggests as the one a reminder chases.
REMINDER_SUGGESTIONS = 50


def _form_context(db: Session, requester: Requester | None = None) -> dict[str, object]:
    # The newest of the officer's requests, as suggestions for "reminder of" (any of their references may be typed):
    # bounded, so an agency with years of requests does not load them all on every form.
    own = portal.own_requests_page(db, requester, limit=REMINDER_SUGGESTIONS).rows if requester is not None else []
    instruments = portal.instruments_for(db, requester) if requester is not None else catalogue.list_instruments(db)
    return {"instruments": instruments, "categories": catalogue.list_categories(db),
            "account_kinds": ACCOUNT_KINDS, "own": own}


async def _document(upload: UploadFile | None) -> tuple[str, bytes] | None:
    if upload is None or not upload.filename:
        return None
    data = await upload.read(MAX_DOCUMENT + 1)
    if len(data) > MAX_DOCUMENT:
        raise InvalidInput(f"The document is larger than {MAX_DOCUMENT // (1024 * 1024)} MB; send a smaller scan.")
    return upload.filename, data


#: Follow-up fields that arrive as several values or lines rather than one string.
LISTS = ("accounts", "categories", "sections")


@router.post("/portal/requests/new")
async def new_submit(request: Request, principal: Principal = needs(Perm.OFFICER_PORTAL)) -> Response:
    form = await request.form()
    upload = form.get("document")
    state = get_state(request)
    with state.sessions() as db:
        requester = portal.requester_for_user(db, principal.user_id)
        try:
            data = RequestInput(
                instrument=str(form.get("instrument", "")), jurisdiction=str(form.get("jurisdiction", "")),
                issuing_authority=str(form.get("issuing_authority", "")) or None,
                issuing_officer=str(form.get("issuing_officer", "")) or None,
                requester_phone=str(form.get("phone", "")) or None,
                case_number=str(form.get("case_number", "")) or None, court=str(form.get("court", "")) or None,
                fir_number=str(form.get("fir_number", "")) or None,
                police_station=str(form.get("police_station", "")) or None,
                district=str(form.get("district", "")) or None, officer_rank=str(form.get("officer_rank", "")) or None,
                notice_date=str(form.get("notice_date", "")) or None,
                sections=parse_sections(str(form.get("sections", ""))), emergency=bool(form.get("emergency")),
                due_date=str(form.get("due_date", "")) or None, accounts=parse_accounts(str(form.get("accounts", ""))),
                categories=[str(c) for c in form.getlist("categories")],
                date_from=str(form.get("date_from", "")) or None, date_to=str(form.get("date_to", "")) or None,
                purpose=str(form.get("purpose", "")) or None, reminder_of=str(form.get("reminder_of", "")) or None,
            )
            document = await _document(upload if isinstance(upload, UploadFile) else None)
            created = portal.submit_request(db, requester, data, clock=state.clock,
                                            vault=state.services.get("evidence.vault"), document=document)
        except (BastionError, ValueError) as exc:
            db.rollback()
            message = exc.message if isinstance(exc, BastionError) else str(exc)
            return render(request, "portal_new.html", {**_form_context(db, requester), "error": message,
                                                       "values": dict(form)}, status_code=422)
        db.commit()
        return RedirectResponse(f"/portal/requests/{created.id}", status_code=303)


def _own(db: Session, principal: Principal, request_id: int) -> tuple[Requester, portal.OwnRequest]:
    requester = portal.requester_for_user(db, principal.user_id)
    return requester, portal.view_own(db, requester, request_id)


@router.get("/portal/requests/{request_id}")
def request_page(request: Request, request_id: int, db: Session = Depends(get_db),
                 principal: Principal = needs(Perm.OFFICER_PORTAL)) -> Response:
    requester, own = _own(db, principal, request_id)
    thread = messages.thread(db, request_id)
    if own.officer == requester.email:  # a supervisor reading over the shoulder does not mark it read
        messages.mark_read(db, request_id, direction="out", clock=get_state(request).clock)
    db.commit()
    return render(request, "portal_request.html", {"own": own, "today": date.today(), "thread": thread,
                                                   "categories": catalogue.list_categories(db),
                                                   "colleagues": agencies.colleagues(db, requester),
                                                   "me": requester},
                  headers={"Cache-Control": "no-store, private"})


@router.post("/portal/requests/{request_id}/messages")
async def message(request: Request, request_id: int, principal: Principal = needs(Perm.OFFICER_PORTAL)) -> Response:
    """The officer writes to the legal desk in the request's thread."""
    form = await request.form()
    state = get_state(request)
    with state.sessions() as db:
        requester, _ = _own(db, principal, request_id)
        uploads = [await _document(f) for f in form.getlist("attachments") if isinstance(f, UploadFile)]
        reply_to = str(form.get("reply_to", "")).strip()
        legal_request = portal.own_request(db, requester, request_id)
        messages.send_from_officer(db, legal_request, requester, body=str(form.get("body", "")), clock=state.clock,
                                   base_url=state.settings.base_url,
                                   reply_to=int(reply_to) if reply_to.isdigit() else None,
                                   attachments=[u for u in uploads if u is not None],
                                   vault=state.services.get("evidence.vault"))
        db.commit()
    return RedirectResponse(f"/portal/requests/{request_id}#messages", status_code=303)


@router.post("/portal/requests/{request_id}/transfer")
def transfer(request: Request, request_id: int, to: str = Form(...), db: Session = Depends(get_db),
             principal: Principal = needs(Perm.OFFICER_PORTAL)) -> Response:
    """Hand the request to another approved officer of the agency."""
    requester, _ = _own(db, principal, request_id)
    portal.transfer(db, requester, request_id, to, clock=get_state(request).clock)
    db.commit()
    return RedirectResponse(f"/portal/requests/{request_id}" if requester.supervisor else "/portal", status_code=303)


@router.get("/portal/requests/{request_id}/attachments/{document_id}")
def attachment(request: Request, request_id: int, document_id: int, db: Session = Depends(get_db),
               principal: Principal = needs(Perm.OFFICER_PORTAL)) -> Response:
    """A document attached to the thread (never the desk's other records of the request)."""
    requester, _ = _own(db, principal, request_id)
    name, content_type, data = messages.open_document(
        db, portal.own_request(db, requester, request_id), document_id, actor=f"officer:{requester.email}",
        vault=get_state(request).services.get("evidence.vault"), attachments_only=True)
    db.commit()
    return Response(data, media_type=content_type, headers={"Cache-Control": "no-store, private",
                                                            "X-Content-Type-Options": "nosniff",
                                                            "Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/portal/requests/{request_id}/reminder")
def reminder(request: Request, request_id: int, text: str = Form(""), db: Session = Depends(get_db),
             principal: Principal = needs(Perm.OFFICER_PORTAL)) -> Response:
    requester, _ = _own(db, principal, request_id)
    portal.send_reminder(db, requester, request_id, clock=get_state(request).clock, text=text)
    db.commit()
    return RedirectResponse(f"/portal/requests/{request_id}", status_code=303)


@router.post("/portal/requests/{request_id}/answer")
async def answer(request: Request, request_id: int, principal: Principal = needs(Perm.OFFICER_PORTAL)) -> Response:
    form = await request.form()
    state = get_state(request)
    with state.sessions() as db:
        requester, _ = _own(db, principal, request_id)
        fields: dict[str, object] = {k: str(v) for k, v in form.items()
                                     if k in RequestUpdate.model_fields and k not in LISTS and str(v).strip()}
        if str(form.get("accounts", "")).strip():
            fields["accounts"] = parse_accounts(str(form.get("accounts", "")))
        if form.getlist("categories"):
            fields["categories"] = [str(c) for c in form.getlist("categories")]
        if str(form.get("sections", "")).strip():
            fields["sections"] = parse_sections(str(form.get("sections", "")))
        upload = form.get("document")
        document = await _document(upload if isinstance(upload, UploadFile) else None)
        portal.answer_follow_up(db, requester, request_id, RequestUpdate(**fields), clock=state.clock,
                                vault=state.services.get("evidence.vault"), document=document)
        db.commit()
    return RedirectResponse(f"/portal/requests/{request_id}", status_code=303)


@router.get("/portal/download/{token}")
def download(request: Request, token: str, db: Session = Depends(get_db),
             principal: Principal = needs(Perm.OFFICER_PORTAL)) -> Response:
    requester = portal.requester_for_user(db, principal.user_id)
    state = get_state(request)
    filename, data = portal.download_production(db, requester, token, clock=state.clock,
                                                vault=state.services.get("evidence.vault"))
    db.commit()
    return downloads.attachment(data, filename, "application/zip", {"Cache-Control": "no-store, private"})


# -- legal staff: approving officer accounts ---------------------------------------------------

@router.get("/legal/officers", dependencies=[needs(Perm.LEGAL_READ)])
def officers(request: Request, error: str = "", q: str = "", state: str = "", cursor: str = "",
             db: Session = Depends(get_db)) -> Response:
    """Officer accounts a page at a time, found by the start of the address and by approval state."""
    try:
        page, refused = officers_service.officers_page(db, email=q, state=state, cursor=cursor or None), None
    except InvalidInput as exc:
        page, refused = officers_service.officers_page(db), exc.message
    rows = [(user, requester, officers_service.needs_vouching(db, requester)) for user, requester in page.rows]
    by_id = {a.id: a for a in directory.list_agencies(db)}
    return render(request, "legal_officers.html", {
        "rows": rows, "agencies": by_id, "error": error or refused, "filters": {"q": q, "state": state},
        "states": officers_service.ACCOUNT_STATES, "next_url": next_url(request, page.next_cursor)},
        status_code=200 if refused is None else 422)


def _officers_act(db: Session, act: Callable[[], object]) -> Response:
    return act_and_return(db, act, "/legal/officers")


@router.post("/legal/officers/{user_id}/callback")
def vouch_officer(request: Request, user_id: int, agency_id: int = Form(...), outcome: str = Form(...),
                  spoke_with: str = Form(""), notes: str = Form(""), db: Session = Depends(get_db),
                  principal: Principal = needs(Perm.LEGAL_MANAGE)) -> Response:
    """Record the call-back on the agency's directory number that vouches for an officer."""
    return _officers_act(db, lambda: officers_service.vouch(
        db, user_id, agency_id=agency_id, outcome=outcome, spoke_with=spoke_with, notes=notes, actor=principal.actor,
        clock=get_state(request).clock))


@router.post("/legal/officers/{user_id}/supervisor")
def supervisor(request: Request, user_id: int, value: str = Form("1"), db: Session = Depends(get_db),
               principal: Principal = needs(Perm.LEGAL_MANAGE)) -> Response:
    return _officers_act(db, lambda: officers_service.set_supervisor(
        db, user_id, value == "1", actor=principal.actor, clock=get_state(request).clock))


@router.post("/legal/officers/{user_id}/approve")
def approve_officer(request: Request, user_id: int, db: Session = Depends(get_db),
                    principal: Principal = needs(Perm.LEGAL_MANAGE)) -> Response:
    """Enable an officer account whose official address is confirmed (a vouched one: by a second person)."""
    return _officers_act(db, lambda: officers_service.approve_officer(db, user_id, actor=principal.actor,
                                                                      clock=get_state(request).clock))



