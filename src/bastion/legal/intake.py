"""Intake: requests arrive (officer portal, email, post), are checked, and start their clock.

`submit` is the one way in, for staff intake and the portal alike. After every change
`refresh` re-runs the checks in order: verification against the directory, validation
against the catalogue, the status, the deadline and its timers, and the user-notice rule.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bastion.clock import Clock
from bastion.errors import InvalidInput
from bastion.legal import clocks, notify, preservation, scope, verification
from bastion.legal.catalogue import category_keys, get_instrument
from bastion.legal.errors import DocumentRefused, RequestNotFound, WrongState
from bastion.legal.models import LegalRequest, Production, RequestAccount, RequestDocument, Requester
from bastion.legal.requests import (  # noqa: F401  (the request's record; re-exported for callers of intake)
    CLOSED,
    accounts_of,
    by_reference,
    close,
    documents_of,
    get_request,
    is_closed,
    resolved_accounts,
)
from bastion.legal.schemas import RequestInput, RequestUpdate, issuer_zone, moment
from bastion.legal.settings import MAX_DOCUMENT_BYTES, NODAL_OFFICER_EMAIL
from bastion.legal.timeline import event, subject
from bastion.legal.validation import ValidationResult, validate
from bastion.orgsettings import get_value

#: Added to a request's priority each time the requester sends a reminder.
REMINDER_BOOST = 10
DOCUMENT_TYPES = {
    b"%PDF-": "application/pdf",
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"GIF87a": "image/gif",
    b"GIF89a": "image/gif",
    b"II*\x00": "image/tiff",
    b"MM\x00*": "image/tiff",
}
_NOT_DOCUMENTS = {
    b"PK\x03\x04": "a ZIP archive (or a Word/Excel file, which are ZIP archives)",
    b"\xd0\xcf\x11\xe0": "an old Microsoft Office file",
    b"MZ": "a Windows program",
    b"\x7fELF": "a program",
    b"{\\rtf": "an RTF document",
    b"Rar!": "a RAR archive",
    b"\x1f\x8b": "a gzip archive",
}


# -- arrival ----------------------------------------------------------------------------------------


def submit(session: Session, data: RequestInput, *, actor: str, clock: Clock, requester: Requester | None = None,
           document: tuple[str, bytes] | None = None, vault: Any | None = None) -> LegalRequest:
    """Take in a request (or, with `reminder_of`, a reminder about one) and run every check on it."""
    if data.reminder_of:
        original = by_reference(session, data.reminder_of)
        requester_reminder(session, original, actor=actor, clock=clock, source=data.source,
                           from_email=data.requester_email or (requester.email if requester else ""), text=data.note)
        return original
    rule = get_instrument(session, data.instrument)
    if not rule.active:
        raise InvalidInput(f"{rule.title} is retired in the catalogue; choose a current instrument.")
    if data.jurisdiction and data.jurisdiction.upper() != rule.jurisdiction:
        raise InvalidInput(f"{rule.title} is an instrument of {rule.jurisdiction}, not {data.jurisdiction}.")
    _check_categories(session, data.categories)
    email = (requester.email if requester is not None else data.requester_email).strip().lower()
    if requester is None:
        requester = verification.requester_for_email(session, email, clock=clock, name=data.issuing_officer or "",
                                                     phone=data.requester_phone or "")
    now = clock.now()
    request = LegalRequest(
        reference=f"tmp-{uuid.uuid4().hex[:20]}", status="received", source=data.source,
        jurisdiction=rule.jurisdiction, instrument_key=rule.key, received_at=moment(data.received_at) or now,
        requester_id=requester.id if requester else None, requester_email=email, created_by=actor, updated_at=now,
        emergency=rule.emergency,
    )
    session.add(request)
    session.flush()
    request.reference = f"LR-{request.received_at:%Y}-{request.id:05d}"
    _apply_update(session, request, data)
    event(session, request, actor=actor, kind="received", clock=clock, requester_visible=True,
          text=f"{rule.title} received by {data.source}" + (f": {data.note}" if data.note else ""),
          details={"instrument": rule.key, "source": data.source, "requester": email})
    if document is not None:
        attach_document(session, request, document[0], document[1], actor=actor, clock=clock, vault=vault,
                        refresh_after=False)
    refresh(session, request, actor=actor, clock=clock, announce=True)
    duplicate = _possible_duplicate(session, request)
    if duplicate is not None:
        event(session, request, actor="bastion", kind="possible_duplicate", clock=clock,
              text=f"Same FIR or case number, from the same agency, as open request {duplicate.reference}; if this "
                   "is a reminder, merge it there.", details={"original": duplicate.reference,
                                                              "original_id": duplicate.id})
    from bastion.legal import preservation, resolution

    preservation.on_arrival(session, request, rule, actor=actor, clock=clock)
    resolution.schedule(session, request, clock=clock)  # named posts' authors, resolved (and preserved) at intake
    return request


def _check_categories(session: Session, categories: list[str] | None) -> None:
    if categories is None:
        return
    known = category_keys(session)
    unknown = [c for c in categories if c not in known]
    if unknown:
        raise InvalidInput(f"Unknown data categories {', '.join(unknown)}; known: {', '.join(known)}.")


#: Fields of a request that a disclosure decision covers: changing one voids the approval.
SCOPE_FIELDS = {"categories", "accounts", "date_from", "date_to"}


def _apply_update(session: Session, request: LegalRequest, data: RequestUpdate) -> list[str]:
    """Write the given fields onto the request; returns the names that changed."""
    changed = []
    simple = ("issuing_authority", "issuing_officer", "requester_phone", "agency_id", "case_number", "court",
              "purpose", "offence", "offence_max_years", "emergency", "emergency_person", "emergency_nature",
              "emergency_why", "ndo", "child_safety", "fir_number", "police_station", "district", "officer_rank",
              "notice_date")
    for name in simple:
        value = getattr(data, name)
        if value is not None and getattr(request, name) != (value.strip() if isinstance(value, str) else value):
            setattr(request, name, value.strip() if isinstance(value, str) else value)
            changed.append(name)
    zone = issuer_zone(request.jurisdiction)  # a day in an Indian notice is a day in IST
    dates = {"stated_due_at": moment(data.due_date, end_of_day=zone is not None, zone=zone),
             "date_from": moment(data.date_from, zone=zone), "date_to": moment(data.date_to, end_of_day=True, zone=zone),
             "ndo_expires_at": moment(data.ndo_expires_at, end_of_day=zone is not None, zone=zone)}
    for name, value in dates.items():
        if value is not None and getattr(request, name) != value:
            setattr(request, name, value)
            changed.append(name)
    if data.sections is not None:
        sections = [{"act": x.act.strip(), "section": x.section.strip()} for x in data.sections]
        if sections != json.loads(request.sections_json or "[]"):
            request.sections_json = json.dumps(sections)
            changed.append("sections")
    if data.categories is not None:
        _check_categories(session, data.categories)
        categories = list(dict.fromkeys(data.categories))
        if categories != json.loads(request.categories_json or "[]"):
            request.categories_json = json.dumps(categories)
            changed.append("categories")
    if data.accounts:
        existing = {(a.kind, a.value) for a in accounts_of(session, request.id)}
        for account in data.accounts:
            key = (account.kind, account.value.strip())
            if key not in existing:
                session.add(_account_row(request.id, account.kind, account.value.strip()))
                existing.add(key)
                changed.append("accounts")
        session.flush()
    return sorted(set(changed))


def _account_row(request_id: int, kind: str, value: str) -> RequestAccount:
    """An identified account; ids and profile/post URLs resolve without asking the platform."""
    row = RequestAccount(request_id=request_id, kind=kind, value=value)
    if kind == "user_id":
        row.account_id, row.resolved_by = value, "given as the user id"
    elif kind == "url":
        parts = [p for p in urlparse(value).path.split("/") if p]
        for marker, attr in (("accounts", "account_id"), ("users", "account_id"), ("posts", "content_id")):
            if marker in parts and parts.index(marker) + 1 < len(parts):
                setattr(row, attr, parts[parts.index(marker) + 1])
        if row.account_id:
            row.resolved_by = "from the profile URL"
    return row


def _possible_duplicate(session: Session, request: LegalRequest) -> LegalRequest | None:
    """An open request this one may be a reminder of: the same FIR (or case number) from the same
    agency, or from the same requester when the agency is not known."""
    same_case = [c for c in (
        (LegalRequest.fir_number == request.fir_number) if request.fir_number else None,
        (LegalRequest.case_number == request.case_number) if request.case_number else None) if c is not None]
    same_source = [c for c in (
        (LegalRequest.agency_id == request.agency_id) if request.agency_id else None,
        (LegalRequest.requester_id == request.requester_id) if request.requester_id else None) if c is not None]
    if not same_case or not same_source:
        return None
    return session.scalar(select(LegalRequest).where(
        LegalRequest.id != request.id, or_(*same_case), or_(*same_source), LegalRequest.status.not_in(CLOSED),
    ).order_by(LegalRequest.id).limit(1))


def merge_as_reminder(session: Session, duplicate: LegalRequest, original: LegalRequest, *, actor: str,
                      clock: Clock) -> None:
    """Staff confirm a new request is a reminder of an open one: the original is chased, the copy closed."""
    if duplicate.id == original.id or is_closed(original):
        raise WrongState(f"{original.reference} is not an open request this one can be merged into.")
    requester_reminder(session, original, actor=actor, clock=clock, source=f"merged from {duplicate.reference}",
                       from_email=duplicate.requester_email)
    close(session, duplicate, actor=actor, clock=clock, status="closed",
          text=f"Merged into {original.reference} as a reminder.")


def refresh(session: Session, request: LegalRequest, *, actor: str, clock: Clock, announce: bool = False
            ) -> ValidationResult:
    """Re-run verification, validation, status, deadline and notice; tell the requester what is missing."""
    rule = get_instrument(session, request.instrument_key)
    was_missing = json.loads(request.missing_json or "[]")
    _mark_child_safety(session, request, actor=actor, clock=clock)
    verification.verify(session, request)
    result = validate(session, request, rule)
    request.missing_json = json.dumps(result.missing + result.problems)
    request.scope_json = json.dumps([f.as_dict() for f in result.scope])
    _settle_status(request, result)
    if not is_closed(request):
        clocks.set_deadline(session, request, rule, clock=clock)
    from bastion.legal import notice

    notice.evaluate(session, request, rule, actor=actor, clock=clock)
    now_missing = result.missing + result.problems
    if (announce or now_missing != was_missing) and (now_missing or result.scope):
        notify.requester(session, request, subject=f"{request.reference}: information needed",
                         text=result.message(request, rule), actor="bastion", clock=clock,
                         kind="information_requested")
    elif was_missing and not now_missing:
        event(session, request, actor=actor, kind="complete", clock=clock, requester_visible=True,
              text="Everything the instrument requires has been received.")
    return result


#: What in a request says it is about child sexual abuse: the POCSO Act, IT Act s.67B, or the words.
CHILD_SAFETY = re.compile(r"\bPOCSO\b|\b67\s*-?\s*B\b|child sexual|\bCSAM\b|\bCSEA?M?\b|sexual abuse of a child",
                          re.IGNORECASE)


def _mark_child_safety(session: Session, request: LegalRequest, *, actor: str, clock: Clock) -> None:
    """A request that cites POCSO or s.67B is a child-safety case from the start: no user notice by default.

    Only ever sets the flag (staff can also set it on the request page); never clears one a person set.
    """
    if request.child_safety:
        return
    sections = " ".join(f"{x['act']} {x['section']}" for x in json.loads(request.sections_json or "[]"))
    cited = " ".join((request.offence, request.purpose, request.case_number, request.issuing_authority, sections))
    found = CHILD_SAFETY.search(cited)
    if found:
        request.child_safety = True
        event(session, request, actor=actor, kind="child_safety", clock=clock,
              text=f"Child-safety case (the request cites {found.group(0)!r}): the user is not told.")


def _settle_status(request: LegalRequest, result: ValidationResult) -> None:
    if is_closed(request) or request.status in ("pending_approval", "approved", "collected", "produced", "preserved",
                                                "removed"):
        if request.verification == "held" and request.status not in CLOSED:
            request.status = "held"
        return
    if request.verification == "held":
        request.status = "held"
    elif not result.complete:
        request.status = "needs_information"
    else:
        request.status = "open"


# -- changes after arrival --------------------------------------------------------------------------


def update(session: Session, request: LegalRequest, data: RequestUpdate, *, actor: str, clock: Clock,
           by_requester: bool = False) -> list[str]:
    """Supply or correct fields (a requester's follow-up, or staff after a phone call)."""
    if is_closed(request):
        raise WrongState(f"{request.reference} is {request.status}; send a new request instead.")
    changed = _apply_update(session, request, data)
    if changed:
        event(session, request, actor=actor, kind="follow_up" if by_requester else "updated", clock=clock,
              requester_visible=by_requester, text=f"Changed: {', '.join(changed)}", details={"changed": changed})
        covered = sorted(set(changed) & SCOPE_FIELDS)
        if covered:
            scope.void_approval(session, request, actor=actor, clock=clock, why="changed: " + ", ".join(covered))
        refresh(session, request, actor=actor, clock=clock)
        if "accounts" in changed:
            from bastion.legal import preservation, resolution

            preservation.on_arrival(session, request, get_instrument(session, request.instrument_key), actor=actor,
                                    clock=clock)
            resolution.schedule(session, request, clock=clock)
    return changed


def requester_reminder(session: Session, request: LegalRequest, *, actor: str, clock: Clock, source: str = "email",
                       from_email: str = "", text: str = "") -> LegalRequest:
    """The requester chased us: recorded on the original request, which escalates for real.

    Still open: it goes to the top of the queue, and its assignee and the legal lead (the nodal
    officer) are mailed. Already answered: the requester is told when and what was delivered.
    """
    request.priority += REMINDER_BOOST
    request.reminder_count += 1
    stranger = bool(from_email) and from_email.strip().lower() != request.requester_email
    event(session, request, actor=actor, kind="requester_reminder", clock=clock, requester_visible=not stranger,
          text=(f"Reminder from the requester by {source}" if not stranger
                else f"Reminder by {source} from {from_email}, who is not the original requester")
               + (f": {text}" if text else ""),
          details={"source": source, "from": from_email, "priority": request.priority,
                   "reminders": request.reminder_count})
    if request.answered_at is not None or is_closed(request):
        _tell_what_was_delivered(session, request, actor=actor, clock=clock)
        return request
    request.escalated_at = request.escalated_at or clock.now()
    recipients = [clocks.assignee_address(session, request), str(get_value(session, NODAL_OFFICER_EMAIL))]
    notify.staff(session, request, to=[r for r in dict.fromkeys(recipients) if r], kind="reminder_escalated",
                 clock=clock, subject=f"Chased: {request.reference} (reminder {request.reminder_count})",
                 text=f"The requester sent reminder {request.reminder_count} about {request.reference} by {source}. "
                      f"It now heads the queue. Status: {request.status}; due "
                      + (f"{request.due_at:%Y-%m-%d %H:%M} UTC." if request.due_at else "no deadline set."),
                 key=f"legal-request:{request.id}:chased:{request.reminder_count}")
    return request


def _tell_what_was_delivered(session: Session, request: LegalRequest, *, actor: str, clock: Clock) -> None:
    """A reminder about a request already answered: when it was answered and what went out (never the data)."""
    when = request.answered_at or request.closed_at
    productions = session.scalars(select(Production).where(Production.request_id == request.id).order_by(Production.id))
    delivered = [f"a production of {p.created_at:%Y-%m-%d} ({p.delivery})" for p in productions]
    what = "; ".join(delivered) or f"our answer ({request.status})"
    notify.requester(session, request, subject=f"{request.reference}: already answered", actor=actor, clock=clock,
                     kind="already_answered",
                     text=f"Your request {request.reference} was answered on {when:%Y-%m-%d %H:%M} UTC: {what}. "
                          "If you cannot find it, reply to this message and we will send it again through the portal.")


def attach_document(session: Session, request: LegalRequest, filename: str, data: bytes, *, actor: str, clock: Clock,
                    vault: Any, refresh_after: bool = True) -> RequestDocument:
    """Keep the signed request (PDF or image only, size-capped) in the evidence vault."""
    limit = int(get_value(session, MAX_DOCUMENT_BYTES))
    if len(data) > limit:
        raise DocumentRefused(f"{filename} is {len(data):,} bytes; documents are accepted up to {limit:,} bytes. "
                              "Send a smaller scan (for example 200 dpi, greyscale).", limit=limit)
    content_type = document_type(data)
    if content_type is None:
        raise DocumentRefused(f"{filename} was refused: only a PDF or an image (PNG, JPEG, GIF, TIFF, WebP) of the "
                              f"signed request is accepted, and this file is {describe(data)}.")
    if vault is None:
        raise InvalidInput("The evidence vault is not configured, so documents cannot be kept.")
    safe_name = re.sub(r"[^\w.\- ]", "_", filename)[:200] or "document"
    item = vault.preserve(session, data, kind="document", subject=subject(request), actor=actor,
                          reason=f"document of legal request {request.reference}",
                          metadata={"filename": safe_name, "content_type": content_type, "uploaded_by": actor},
                          context={"request": request.reference})
    row = RequestDocument(request_id=request.id, evidence_id=item.id, filename=safe_name, content_type=content_type,
                          size=len(data), sha256=item.sha256, uploaded_at=clock.now(), uploaded_by=actor)
    session.add(row)
    session.flush()
    event(session, request, actor=actor, kind="document", clock=clock, requester_visible=True,
          text=f"Document {safe_name} ({content_type}, {len(data):,} bytes) kept as evidence {item.id}",
          details={"evidence": item.id, "sha256": item.sha256})
    if refresh_after:
        refresh(session, request, actor=actor, clock=clock)
    return row


def document_type(data: bytes) -> str | None:
    for magic, content_type in DOCUMENT_TYPES.items():
        if data.startswith(magic):
            return content_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def describe(data: bytes) -> str:
    for magic, what in _NOT_DOCUMENTS.items():
        if data.startswith(magic):
            return what
    head = data[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return "a web page"
    if not data:
        return "empty"
    try:
        data[:2048].decode("utf-8")
        return "plain text"
    except UnicodeDecodeError:
        return "of an unrecognised type"


def set_account(session: Session, request: LegalRequest, account_row_id: int, account_id: str, *, actor: str,
                clock: Clock) -> RequestAccount:
    """Staff resolved an identifier (username, email, phone) to the platform's account id."""
    row = session.get(RequestAccount, account_row_id)
    if row is None or row.request_id != request.id:
        raise RequestNotFound(f"{request.reference} has no account entry {account_row_id}.")
    if not account_id.strip():
        raise InvalidInput("Give the platform account id the identifier resolves to.")
    row.account_id, row.resolved_by = account_id.strip(), actor
    event(session, request, actor=actor, kind="account_resolved", clock=clock,
          text=f"{row.kind} {row.value} is platform account {row.account_id}",
          details={"kind": row.kind, "value": row.value, "account_id": row.account_id})
    preservation.on_arrival(session, request, get_instrument(session, request.instrument_key), actor=actor, clock=clock)
    return row


def resolve_with_platform(session: Session, request: LegalRequest, connector: Any, *, actor: str, clock: Clock) -> None:
    """Post URLs resolve to their author through the connector (a read, no side effects)."""
    from bastion.platform import PlatformError

    for row in accounts_of(session, request.id):
        if row.account_id or not row.content_id:
            continue
        try:
            row.account_id = connector.get_content(row.content_id).account_id
        except PlatformError as exc:
            event(session, request, actor=actor, kind="account_unresolved", clock=clock,
                  text=f"Could not resolve {row.value}: {exc}", details={"value": row.value})
            continue
        row.resolved_by = "author of the post in the URL"
        event(session, request, actor=actor, kind="account_resolved", clock=clock,
              text=f"{row.value} is a post by platform account {row.account_id}",
              details={"kind": row.kind, "value": row.value, "account_id": row.account_id})


def mark_fraudulent(session: Session, request: LegalRequest, *, actor: str, clock: Clock, reason: str) -> None:
    """Found forged: closed unanswered, counted against the sender's history, timers stopped."""
    if not reason.strip():
        raise InvalidInput("Say why the request is fraudulent (it is kept in the requester's history).")
    request.fraudulent, request.status, request.closed_at = True, "fraudulent", clock.now()
    clocks.stop(session, request)
    verification.verify(session, request)
    event(session, request, actor=actor, kind="fraudulent", clock=clock, text=reason)
