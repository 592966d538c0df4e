"""Staff pages of the legal request desk: the list by time left, intake, the request page, collection, directory."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from bastion.auth.principal import Principal
from bastion.errors import BastionError, InvalidInput
from bastion.legal import (
    catalogue,
    clocks,
    collection,
    directory,
    intake,
    listing,
    messages,
    notice,
    perms,
    preservation,
    produce,
    removal,
    resolution,
    review,
    rules,
    verification,
)
from bastion.legal.schemas import AccountIn, RequestInput, RequestUpdate, parse_sections
from bastion.legal.views import request_view
from bastion.web.api.legal import (
    connector_of,
    read_upload,
    signing_key_of,
    user_of,
    vault_of,
)
from bastion.web import downloads
from bastion.web.guard import needs
from bastion.web.state import get_db, get_state
from bastion.web.ui.acts import act_and_return
from bastion.web.ui.paging import next_url
from bastion.web.ui.render import render

router = APIRouter(include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store, private"}


def _back(request_id: int, error: str = "", anchor: str = "") -> RedirectResponse:
    suffix = f"?error={quote(error)}" if error else ""
    return RedirectResponse(f"/legal/requests/{request_id}{suffix}{'#' + anchor if anchor else ''}", status_code=303)


def _act(db: Session, request_id: int, action: Callable[[], Any], anchor: str = "") -> Response:
    """Run an act on a request that exists; a refusal comes back to its page as a message, nothing half-done."""
    intake.get_request(db, request_id)
    return act_and_return(db, action, f"/legal/requests/{request_id}", anchor)


@router.get("/legal")
def legal_list(request: Request, closed: bool = False, q: str = "", status: str = "", cursor: str = "",
               after: str = "", db: Session = Depends(get_db), principal: Principal = needs(perms.READ)) -> Response:
    """The urgency queue (paged by `after`), or, once a search is given, every matching request
    newest first (paged by `cursor`); both keyset, so no request is out of reach."""
    clock = get_state(request).clock
    titles = {i.key: i.title for i in catalogue.list_instruments(db)}
    searching = bool(q.strip() or status or cursor)
    if searching:
        found = listing.search_page(db, reference=q, status=status, cursor=cursor or None)
        more = next_url(request, found.next_cursor)
    else:
        found = clocks.queue(db, include_closed=closed, cursor=after or None)
        more = next_url(request, found.next_cursor, param="after")
    return render(request, "legal_list.html", {
        "requests": found.rows, "now": clock.now(), "instrument_titles": titles, "closed": closed,
        "searching": searching, "q": q, "status": status, "statuses": listing.STATUSES, "next_url": more,
        "later_page": bool(after)})


def _accounts(text: str) -> list[AccountIn]:
    """One identifier per line, optionally prefixed by its kind ("url: ...", "username: ...")."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        kind, _, value = line.partition(":")
        if kind.strip() in ("username", "user_id", "email", "phone", "url") and value.strip() and not value.startswith("//"):
            out.append(AccountIn(kind=kind.strip(), value=value.strip()))  # type: ignore[arg-type]
        elif line.startswith(("http://", "https://")):
            out.append(AccountIn(kind="url", value=line))
        elif line.startswith("@"):
            out.append(AccountIn(kind="username", value=line[1:]))
        elif "@" in line:
            out.append(AccountIn(kind="email", value=line))
        elif line.lstrip("+").replace("-", "").replace(" ", "").isdigit() and len(line) > 6:
            out.append(AccountIn(kind="phone", value=line))
        else:
            out.append(AccountIn(kind="username", value=line.lstrip("@")))
    return out


def _form_context(db: Session) -> dict[str, Any]:
    return {"instruments": catalogue.list_instruments(db), "categories": catalogue.list_categories(db),
            "agencies": directory.list_agencies(db)}


@router.get("/legal/requests/new")
def new_request_page(request: Request, db: Session = Depends(get_db), principal: Principal = needs(perms.MANAGE)
                     ) -> Response:
    return render(request, "legal_new.html", {**_form_context(db), "error": None, "form": {}})


def _day(value: str) -> date | None:
    return date.fromisoformat(value) if value.strip() else None


@router.post("/legal/requests")
async def new_request(request: Request, db: Session = Depends(get_db), principal: Principal = needs(perms.MANAGE)
                      ) -> Response:
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    upload = form.get("document")
    try:
        data = RequestInput(
            instrument=values.get("instrument", ""), source=values.get("source", "email"),  # type: ignore[arg-type]
            requester_email=values.get("requester_email", ""), requester_phone=values.get("requester_phone", ""),
            issuing_authority=values.get("issuing_authority", ""), issuing_officer=values.get("issuing_officer", ""),
            agency_id=int(values["agency_id"]) if values.get("agency_id") else None,
            case_number=values.get("case_number", ""), court=values.get("court", ""),
            purpose=values.get("purpose", ""), offence=values.get("offence", ""),
            fir_number=values.get("fir_number", ""), police_station=values.get("police_station", ""),
            district=values.get("district", ""), officer_rank=values.get("officer_rank", ""),
            notice_date=_day(values.get("notice_date", "")), sections=parse_sections(values.get("sections", "")),
            offence_max_years=int(values["offence_max_years"]) if values.get("offence_max_years") else None,
            due_date=_day(values.get("due_date", "")), date_from=_day(values.get("date_from", "")),
            date_to=_day(values.get("date_to", "")), categories=form.getlist("categories"),  # type: ignore[arg-type]
            accounts=_accounts(values.get("accounts", "")), emergency=bool(values.get("emergency")),
            emergency_person=values.get("emergency_person", ""), emergency_nature=values.get("emergency_nature", ""),
            emergency_why=values.get("emergency_why", ""), ndo=bool(values.get("ndo")),
            ndo_expires_at=_day(values.get("ndo_expires_at", "")), child_safety=bool(values.get("child_safety")),
            reminder_of=values.get("reminder_of") or None, note=values.get("note", ""),
        )
        document = await read_upload(db, upload if isinstance(upload, UploadFile) else None)
        state = get_state(request)
        created = intake.submit(db, data, actor=principal.actor, clock=state.clock, document=document,
                                vault=state.services.get("evidence.vault"))
    except (BastionError, ValidationError, ValueError) as exc:
        db.rollback()
        message = exc.message if isinstance(exc, BastionError) else str(exc)
        return render(request, "legal_new.html", {**_form_context(db), "error": message, "form": values},
                      status_code=422)
    db.commit()
    return RedirectResponse(f"/legal/requests/{created.id}", status_code=303)


@router.get("/legal/requests/{request_id}")
def request_page(request: Request, request_id: int, error: str | None = None, db: Session = Depends(get_db),
                 principal: Principal = needs(perms.READ)) -> Response:
    from bastion.auth import users
    from bastion.auth.permissions import allowed
    from bastion.auth.roles import Role

    legal_request = intake.get_request(db, request_id)
    state = get_state(request)
    view = request_view(db, legal_request, state.clock.now())
    staff = [u for u in users.list_users(db) if not u.disabled and allowed(Role(u.role), perms.MANAGE)]
    thread = messages.thread(db, request_id)
    messages.mark_read(db, request_id, direction="in", clock=state.clock)  # the desk has now seen the officer's
    db.commit()
    return render(request, "legal_request.html", {"view": view, "error": error, "staff": staff,
                                                  "categories": catalogue.list_categories(db), "thread": thread,
                                                  "category_titles": {c.key: c.title
                                                                      for c in catalogue.list_categories(db)},
                                                  "templates": messages.templates_for(db, legal_request)},
                  headers=NO_STORE)


@router.post("/legal/requests/{request_id}/messages")
async def request_message(request: Request, request_id: int, principal: Principal = needs(perms.MANAGE)) -> Response:
    """Write to the officer in the request's thread (a template, edited, and any attachments)."""
    form = await request.form()
    state = get_state(request)
    with state.sessions() as db:
        try:
            uploads = [await read_upload(db, f) for f in form.getlist("attachments") if isinstance(f, UploadFile)]
            reply_to = str(form.get("reply_to", "")).strip()
            messages.send_from_desk(
                db, intake.get_request(db, request_id), body=str(form.get("body", "")), actor=principal.actor,
                author_name=user_of(db, principal).username, clock=state.clock, base_url=state.settings.base_url,
                template=str(form.get("template", "")), reply_to=int(reply_to) if reply_to.isdigit() else None,
                attachments=[u for u in uploads if u is not None], vault=vault_of(request))
        except BastionError as exc:
            db.rollback()
            return _back(request_id, exc.message, "messages")
        db.commit()
    return _back(request_id, anchor="messages")


@router.get("/legal/requests/{request_id}/documents/{document_id}")
def request_document_file(request: Request, request_id: int, document_id: int, db: Session = Depends(get_db),
                          principal: Principal = needs(perms.READ)) -> Response:
    """A document of the request (the signed notice, a message's attachment), opened from the vault (audited)."""
    name, content_type, data = messages.open_document(db, intake.get_request(db, request_id), document_id,
                                                      actor=principal.actor, vault=vault_of(request))
    db.commit()
    return Response(data, media_type=content_type, headers={**NO_STORE, "X-Content-Type-Options": "nosniff",
                                                            "Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/legal/requests/{request_id}/update")
async def request_update(request: Request, request_id: int, db: Session = Depends(get_db),
                         principal: Principal = needs(perms.MANAGE)) -> Response:
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str) and v.strip()}
    clock = get_state(request).clock

    def act() -> None:
        try:
            data = RequestUpdate(
                **{k: v for k, v in values.items() if k in ("issuing_authority", "issuing_officer", "requester_phone",
                                                            "case_number", "court", "purpose", "offence",
                                                            "fir_number", "police_station", "district",
                                                            "officer_rank")},
                notice_date=_day(values.get("notice_date", "")),
                sections=parse_sections(values["sections"]) if "sections" in values else None,
                offence_max_years=int(values["offence_max_years"]) if "offence_max_years" in values else None,
                due_date=_day(values.get("due_date", "")), date_from=_day(values.get("date_from", "")),
                date_to=_day(values.get("date_to", "")), ndo_expires_at=_day(values.get("ndo_expires_at", "")),
                accounts=_accounts(values.get("accounts", "")) or None,
                agency_id=int(values["agency_id"]) if "agency_id" in values else None,
            )
        except (ValidationError, ValueError) as exc:
            raise InvalidInput(str(exc)) from None
        intake.update(db, intake.get_request(db, request_id), data, actor=principal.actor, clock=clock)

    return _act(db, request_id, act, "request-fields")


@router.post("/legal/requests/{request_id}/merge")
def request_merge(request: Request, request_id: int, original: int = Form(...), db: Session = Depends(get_db),
                  principal: Principal = needs(perms.MANAGE)) -> Response:
    """One click: this new request is a reminder of an open one; the original is chased, this one closed."""
    clock = get_state(request).clock
    try:
        intake.merge_as_reminder(db, intake.get_request(db, request_id), intake.get_request(db, original),
                                 actor=principal.actor, clock=clock)
    except BastionError as exc:
        db.rollback()
        return _back(request_id, exc.message, "merge-offer")
    db.commit()
    return _back(original, anchor="chased")


@router.post("/legal/requests/{request_id}/child-safety")
def request_child_safety(request: Request, request_id: int, db: Session = Depends(get_db),
                         principal: Principal = needs(perms.MANAGE)) -> Response:
    """Staff mark the request a child-safety case: the user is not told (see `legal.notice`)."""

    def act() -> None:
        intake.update(db, intake.get_request(db, request_id), RequestUpdate(child_safety=True),
                      actor=principal.actor, clock=get_state(request).clock)

    return _act(db, request_id, act, "notice")


@router.post("/legal/requests/{request_id}/document")
async def request_document(request: Request, request_id: int, file: UploadFile = File(...),
                           db: Session = Depends(get_db), principal: Principal = needs(perms.MANAGE)) -> Response:
    upload = await read_upload(db, file)

    def act() -> None:
        if upload is None:
            raise InvalidInput("Choose the document to attach.")
        intake.attach_document(db, intake.get_request(db, request_id), upload[0], upload[1], actor=principal.actor,
                               clock=get_state(request).clock, vault=vault_of(request))

    return _act(db, request_id, act, "documents")


@router.post("/legal/requests/{request_id}/reminder")
def request_reminder(request: Request, request_id: int, source: str = Form("email"), from_email: str = Form(""),
                     text: str = Form(""), db: Session = Depends(get_db), principal: Principal = needs(perms.MANAGE)
                     ) -> Response:
    return _act(db, request_id, lambda: intake.requester_reminder(
        db, intake.get_request(db, request_id), actor=principal.actor, clock=get_state(request).clock, source=source,
        from_email=from_email, text=text), "timeline")


@router.post("/legal/requests/{request_id}/accounts/{row_id}")
def request_account(request: Request, request_id: int, row_id: int, account_id: str = Form(""),
                    db: Session = Depends(get_db), principal: Principal = needs(perms.MANAGE)) -> Response:
    return _act(db, request_id, lambda: intake.set_account(
        db, intake.get_request(db, request_id), row_id, account_id, actor=principal.actor,
        clock=get_state(request).clock), "accounts")


@router.post("/legal/requests/{request_id}/accounts-lookup")
def request_lookup(request: Request, request_id: int, db: Session = Depends(get_db),
                   principal: Principal = needs(perms.MANAGE)) -> Response:
    def act() -> None:
        with connector_of(request) as connector:
            resolution.find_candidates(db, intake.get_request(db, request_id), connector, actor=principal.actor,
                                       clock=get_state(request).clock)

    return _act(db, request_id, act, "accounts")


@router.post("/legal/requests/{request_id}/candidates/{candidate_id}/confirm")
def request_confirm(request: Request, request_id: int, candidate_id: int, db: Session = Depends(get_db),
                    principal: Principal = needs(perms.MANAGE)) -> Response:
    return _act(db, request_id, lambda: resolution.confirm(
        db, intake.get_request(db, request_id), candidate_id, actor=principal.actor, clock=get_state(request).clock),
        "accounts")


@router.post("/legal/requests/{request_id}/candidates/{candidate_id}/reject")
def request_reject(request: Request, request_id: int, candidate_id: int, db: Session = Depends(get_db),
                   principal: Principal = needs(perms.MANAGE)) -> Response:
    return _act(db, request_id, lambda: resolution.reject(
        db, intake.get_request(db, request_id), candidate_id, actor=principal.actor, clock=get_state(request).clock),
        "accounts")


@router.post("/legal/requests/{request_id}/assign")
def request_assign(request: Request, request_id: int, username: str = Form(...), db: Session = Depends(get_db),
                   principal: Principal = needs(perms.MANAGE)) -> Response:
    from bastion.auth import users

    return _act(db, request_id, lambda: review.assign(
        db, intake.get_request(db, request_id), users.require_user(db, username), actor=principal.actor,
        clock=get_state(request).clock), "review")


@router.post("/legal/requests/{request_id}/callback")
def request_callback(request: Request, request_id: int, outcome: str = Form(...), spoke_with: str = Form(""),
                     notes: str = Form(""), db: Session = Depends(get_db), principal: Principal = needs(perms.MANAGE)
                     ) -> Response:
    clock = get_state(request).clock

    def act() -> None:
        legal_request = intake.get_request(db, request_id)
        verification.record_callback(db, legal_request, outcome=outcome, spoke_with=spoke_with, notes=notes,
                                     actor=principal.actor, clock=clock)
        intake.refresh(db, legal_request, actor=principal.actor, clock=clock)

    return _act(db, request_id, act, "verification")


@router.post("/legal/requests/{request_id}/reverify")
def request_reverify(request: Request, request_id: int, db: Session = Depends(get_db),
                     principal: Principal = needs(perms.MANAGE)) -> Response:
    return _act(db, request_id, lambda: intake.refresh(db, intake.get_request(db, request_id), actor=principal.actor,
                                                       clock=get_state(request).clock), "verification")


@router.post("/legal/requests/{request_id}/fraudulent")
def request_fraudulent(request: Request, request_id: int, reason: str = Form(""), db: Session = Depends(get_db),
                       principal: Principal = needs(perms.MANAGE)) -> Response:
    return _act(db, request_id, lambda: intake.mark_fraudulent(
        db, intake.get_request(db, request_id), actor=principal.actor, clock=get_state(request).clock, reason=reason),
        "verification")


@router.post("/legal/requests/{request_id}/decision")
async def request_decision(request: Request, request_id: int, db: Session = Depends(get_db),
                           principal: Principal = needs(perms.MANAGE)) -> Response:
    form = await request.form()
    outcome, reason = str(form.get("outcome", "")), str(form.get("reason", ""))
    categories = [str(c) for c in form.getlist("categories")] or None
    return _act(db, request_id, lambda: review.decide(
        db, intake.get_request(db, request_id), user_of(db, principal), outcome=outcome, categories=categories,
        reason=reason, actor=principal.actor, clock=get_state(request).clock), "review")


@router.post("/legal/requests/{request_id}/approve")
def request_approve(request: Request, request_id: int, db: Session = Depends(get_db),
                    principal: Principal = needs(perms.APPROVE)) -> Response:
    return _act(db, request_id, lambda: review.approve(
        db, intake.get_request(db, request_id), user_of(db, principal), actor=principal.actor,
        clock=get_state(request).clock), "review")


@router.post("/legal/requests/{request_id}/collect")
def request_collect(request: Request, request_id: int, db: Session = Depends(get_db),
                    principal: Principal = needs(perms.MANAGE)) -> Response:
    def act() -> None:
        with connector_of(request) as connector:
            collection.collect(db, intake.get_request(db, request_id), connector=connector, vault=vault_of(request),
                               actor=principal.actor, clock=get_state(request).clock)

    return _act(db, request_id, act, "collection")


@router.get("/legal/requests/{request_id}/collection")
def request_collection(request: Request, request_id: int, db: Session = Depends(get_db),
                       principal: Principal = needs(perms.MANAGE)) -> Response:
    legal_request = intake.get_request(db, request_id)
    shown = collection.preview(db, legal_request, vault=vault_of(request), actor=principal.actor)
    db.commit()
    return render(request, "legal_collection.html",
                  {"legal_request": legal_request, "datasets": shown,
                   "pretty": lambda d: json.dumps(d, indent=1, ensure_ascii=False)}, headers=NO_STORE)


@router.post("/legal/requests/{request_id}/produce")
def request_produce(request: Request, request_id: int, delivery: str = Form("portal"), db: Session = Depends(get_db),
                    principal: Principal = needs(perms.MANAGE)) -> Response:
    state = get_state(request)
    return _act(db, request_id, lambda: produce.build(
        db, intake.get_request(db, request_id), vault=vault_of(request), actor=principal.actor, clock=state.clock,
        delivery=delivery, signing_key=signing_key_of(request),
        certificate=state.services.get("production.certificate")), "production")


@router.post("/legal/requests/{request_id}/productions/{production_id}/export")
def request_export(request: Request, request_id: int, production_id: int, recipient: str = Form(""),
                   db: Session = Depends(get_db), principal: Principal = needs(perms.MANAGE)) -> Response:
    legal_request = intake.get_request(db, request_id)
    try:
        name, data = produce.export(db, legal_request, production_id, vault=vault_of(request), actor=principal.actor,
                                    clock=get_state(request).clock, recipient=recipient)
    except BastionError as exc:
        db.rollback()
        return _back(request_id, exc.message, "production")
    db.commit()
    return downloads.attachment(data, name, "application/zip", NO_STORE)


@router.post("/legal/requests/{request_id}/notice")
def request_notice(request: Request, request_id: int, to: str = Form(""), db: Session = Depends(get_db),
                   principal: Principal = needs(perms.MANAGE)) -> Response:
    return _act(db, request_id, lambda: notice.send(
        db, intake.get_request(db, request_id), to=to, actor=principal.actor, clock=get_state(request).clock),
        "notice")


@router.post("/legal/requests/{request_id}/preserve")
def request_preserve(request: Request, request_id: int, reason: str = Form(""), db: Session = Depends(get_db),
                     principal: Principal = needs(perms.MANAGE)) -> Response:
    return _act(db, request_id, lambda: preservation.preserve_now(
        db, intake.get_request(db, request_id), actor=principal.actor, clock=get_state(request).clock,
        vault=vault_of(request), reason=reason), "preservation")


@router.post("/legal/requests/{request_id}/preservation/extend")
def request_extend(request: Request, request_id: int, reason: str = Form(""), requested_by: str = Form(""),
                   until: str = Form(""), db: Session = Depends(get_db),
                   principal: Principal = needs(perms.MANAGE)) -> Response:
    def act() -> None:
        try:
            end = _day(until)
        except ValueError:
            raise InvalidInput(f"{until!r} is not a date; use YYYY-MM-DD.") from None
        preservation.extend(db, intake.get_request(db, request_id), actor=principal.actor,
                            clock=get_state(request).clock, vault=vault_of(request), reason=reason,
                            requested_by=requested_by, until=end)

    return _act(db, request_id, act, "preservation")


@router.post("/legal/requests/{request_id}/preservation/release")
def request_release(request: Request, request_id: int, reason: str = Form(""), db: Session = Depends(get_db),
                    principal: Principal = needs(perms.MANAGE)) -> Response:
    return _act(db, request_id, lambda: preservation.release(
        db, intake.get_request(db, request_id), actor=principal.actor, clock=get_state(request).clock,
        vault=vault_of(request), reason=reason), "preservation")


@router.post("/legal/requests/{request_id}/removals/retry")
def request_removal_retry(request: Request, request_id: int, db: Session = Depends(get_db),
                          principal: Principal = needs(perms.MANAGE)) -> Response:
    return _act(db, request_id, lambda: removal.retry(
        db, intake.get_request(db, request_id), actor=principal.actor, clock=get_state(request).clock), "removal")


@router.post("/legal/requests/{request_id}/productions/{production_id}/link")
def request_new_link(request: Request, request_id: int, production_id: int, db: Session = Depends(get_db),
                     principal: Principal = needs(perms.MANAGE)) -> Response:
    return _act(db, request_id, lambda: produce.reissue_token(
        db, intake.get_request(db, request_id), production_id, actor=principal.actor, clock=get_state(request).clock),
        "production")


@router.get("/legal/agencies")
def agencies_page(request: Request, error: str | None = None, db: Session = Depends(get_db),
                  principal: Principal = needs(perms.READ)) -> Response:
    args = request.query_params
    shown = {"q": args.get("q", ""), "country": args.get("country", ""), "state": args.get("state", "")}
    try:
        page = listing.agencies_page(db, name=shown["q"], country=shown["country"], state=shown["state"],
                                     cursor=args.get("cursor") or None)
        refused = None
    except InvalidInput as exc:
        page, refused = listing.agencies_page(db), exc.message
    return render(request, "legal_agencies.html", {"agencies": page.rows, "filters": shown,
                                                   "states": listing.AGENCY_STATES, "search_error": refused,
                                                   "next_url": next_url(request, page.next_cursor), "error": error,
                                                   "jurisdictions": catalogue.list_jurisdictions(db)},
                  status_code=200 if refused is None else 422)


@router.post("/legal/agencies")
def agencies_add(request: Request, name: str = Form(""), country: str = Form(""), jurisdiction: str = Form(""),
                 domains: str = Form(""), phone: str = Form(""), phone_source: str = Form(""), notes: str = Form(""),
                 db: Session = Depends(get_db), principal: Principal = needs(perms.MANAGE)) -> Response:
    try:
        directory.set_agency(db, name=name, country=country, jurisdiction=jurisdiction, domains=domains, phone=phone,
                             phone_source=phone_source, notes=notes, actor=principal.actor,
                             clock=get_state(request).clock)
    except BastionError as exc:
        db.rollback()
        return RedirectResponse(f"/legal/agencies?error={quote(exc.message)}", status_code=303)
    db.commit()
    return RedirectResponse("/legal/agencies", status_code=303)


@router.post("/legal/agencies/import")
async def agencies_import(request: Request, file: UploadFile = File(...), db: Session = Depends(get_db),
                          principal: Principal = needs(perms.MANAGE)) -> Response:
    text = (await file.read(5 * 1024 * 1024)).decode("utf-8-sig", errors="replace")
    try:
        report = directory.import_csv(db, text, actor=principal.actor, clock=get_state(request).clock)
    except BastionError as exc:
        db.rollback()
        return RedirectResponse(f"/legal/agencies?error={quote(exc.message)}", status_code=303)
    db.commit()
    message = f"Imported: {report.added} added, {report.updated} updated, {report.unchanged} unchanged."
    return RedirectResponse(f"/legal/agencies?error={quote(message)}", status_code=303)


@router.get("/legal/catalogue")
def catalogue_page(request: Request, db: Session = Depends(get_db), principal: Principal = needs(perms.READ)
                   ) -> Response:
    return render(request, "legal_catalogue.html", {
        "rules": [rules.as_dict(r) for r in rules.list_rules(db)],
        "instruments": catalogue.list_instruments(db, include_inactive=True),
        "categories": catalogue.list_categories(db), "jurisdictions": catalogue.list_jurisdictions(db),
        "labels": catalogue.field_labels()})
