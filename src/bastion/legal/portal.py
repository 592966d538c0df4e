"""Service functions behind the officer portal (its pages are built on these; see docs/legal-desk.md).

An officer is a `Requester` (their email address) optionally linked to a Bastion user with the
`officer` role. Registration sends a confirmation link to the address; only a confirmed address
on an agency's official domain makes requests "verified". Officers see only their own requests
and only the timeline events meant for them.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from bastion import audit
from bastion.clock import Clock
from bastion.db.keyset import Page, exact, newest_first, page_size
from bastion.errors import InvalidInput, PermissionDenied
from bastion.legal import catalogue, directory, intake, notify, produce, verification
from bastion.legal.agencies import agency_of, colleagues, supervises
from bastion.legal.errors import RequestNotFound, TokenInvalid
from bastion.legal.models import Agency, LegalRequest, Requester
from bastion.legal.schemas import RequestInput, RequestUpdate
from bastion.legal.timeline import event, events_of
from bastion.legal.titles import TITLES
from bastion.mail.outbox import carries_secret

#: Where the confirmation link points (the portal's page takes `?token=`).
CONFIRM_PATH = "/portal/confirm"
CONFIRM_MAIL = carries_secret("legal.officer_confirm")  # the link is blanked from the outbox once sent
CONFIRM_HOURS = 48


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def register_officer(session: Session, *, email: str, name: str, phone: str, clock: Clock, base_url: str,
                     user_id: int | None = None) -> tuple[Requester, str, list[str]]:
    """Register (or re-register) an officer's address and queue the confirmation link.

    Returns the requester, the confirmation token (shown nowhere but the mail) and warnings,
    e.g. that the domain is not in the directory (requests from it will be held).
    """
    email = email.strip().lower()
    if "@" not in email or not directory.email_domain(email):
        raise InvalidInput(f"{email!r} is not an email address.")
    requester = verification.requester_for_email(session, email, clock=clock, name=name.strip(), phone=phone.strip())
    assert requester is not None
    requester.name, requester.phone = name.strip() or requester.name, phone.strip() or requester.phone
    if user_id is not None:
        requester.user_id = user_id
    agencies = directory.agencies_for_email(session, email)
    unknown = (f"{directory.email_domain(email)} is not the domain of any agency in our directory; requests from it "
               "are held until the agency is verified.")
    warnings = [] if agencies else [unknown]
    requester.agency_id = agencies[0].id if len(agencies) == 1 else requester.agency_id
    token = secrets.token_urlsafe(32)
    requester.confirm_token_hash = _hash(token)
    requester.confirm_expires_at = clock.now() + timedelta(hours=CONFIRM_HOURS)
    link = f"{base_url.rstrip('/')}{CONFIRM_PATH}?token={token}"
    notify.queue(session, to=email, subject="Confirm your address for law-enforcement requests", clock=clock,
                 kind=CONFIRM_MAIL, subject_ref=f"legal_requester:{requester.id}", actor=f"officer:{email}",
                 text=f"Confirm that you control {email} by opening {link} within {CONFIRM_HOURS} hours. "
                      "If you did not register, ignore this message.")
    audit.record(session, actor=f"officer:{email}", action="legal.officer.register", subject=f"legal_requester:{requester.id}",
                 details={"email": email, "agency": requester.agency_id, "warnings": warnings}, clock=clock)
    return requester, token, warnings


def confirm_email(session: Session, token: str, *, clock: Clock) -> Requester:
    """The officer opened the confirmation link; their open requests are re-verified."""
    requester = session.scalar(select(Requester).where(Requester.confirm_token_hash == _hash(token),
                                                       Requester.confirm_token_hash != ""))
    if requester is None or requester.confirm_expires_at is None or requester.confirm_expires_at <= clock.now():
        raise TokenInvalid("This confirmation link is not valid or has expired; register again for a new one.")
    requester.confirmed_at, requester.confirm_token_hash = clock.now(), ""
    audit.record(session, actor=f"officer:{requester.email}", action="legal.officer.confirm",
                 subject=f"legal_requester:{requester.id}", details={"email": requester.email}, clock=clock)
    for request in session.scalars(select(LegalRequest).where(LegalRequest.requester_id == requester.id,
                                                              LegalRequest.closed_at.is_(None))):
        intake.refresh(session, request, actor=f"officer:{requester.email}", clock=clock)
    return requester


def requester_for_user(session: Session, user_id: int) -> Requester:
    requester = session.scalar(select(Requester).where(Requester.user_id == user_id))
    if requester is None:
        raise PermissionDenied("This account is not registered as an officer; register your official address first.")
    return requester


#: Instruments any agency may use, whatever its own jurisdiction (a treaty request goes through its central authority).
ANY_JURISDICTION = ("INTL",)


def agency_jurisdiction(session: Session, requester: Requester) -> str:
    """The jurisdiction whose law the officer's agency acts under ("" when the agency is not known)."""
    if requester.agency_id is not None:
        agencies = [a for a in [session.get(Agency, requester.agency_id)] if a is not None]
    else:
        agencies = directory.agencies_for_email(session, requester.email)
    homes = {(a.jurisdiction or a.country).upper() for a in agencies}
    return homes.pop() if len(homes) == 1 else ""


def instruments_for(session: Session, requester: Requester) -> list[catalogue.InstrumentRule]:
    """The instruments this officer may invoke: their agency's jurisdiction's, and treaty requests.

    An officer whose agency is not yet known sees them all; their requests are held until the
    agency is verified, and staff then see which instrument was claimed.
    """
    rules = catalogue.list_instruments(session)
    home = agency_jurisdiction(session, requester)
    return [r for r in rules if not home or r.jurisdiction in (home, *ANY_JURISDICTION)]


def submit_request(session: Session, requester: Requester, data: RequestInput, *, clock: Clock, vault: Any,
                   document: tuple[str, bytes] | None = None) -> LegalRequest:
    """A request from the portal: the sender is the signed-in officer's own address."""
    data = data.model_copy(update={"source": "portal", "requester_email": requester.email, "received_at": None})
    allowed = instruments_for(session, requester)
    if data.instrument not in {r.key for r in allowed}:
        raise InvalidInput(f"{data.instrument!r} is not an instrument your agency can use here; choose one of: "
                           + ", ".join(f"{r.title} ({r.key})" for r in allowed) + ".")
    if data.reminder_of:  # an officer chases only their own requests (and learns nothing of others')
        original = intake.by_reference(session, data.reminder_of) if data.reminder_of.strip() else None
        if original is None or original.requester_id != requester.id:
            raise RequestNotFound(f"You have no request {data.reminder_of}.")
    return intake.submit(session, data, actor=f"officer:{requester.email}", clock=clock, requester=requester,
                         document=document, vault=vault)


def own_request(session: Session, requester: Requester, request_id: int) -> LegalRequest:
    """The officer's request (a 404-style refusal for anyone else's: ids reveal nothing)."""
    return _own(session, requester, request_id)


def _own(session: Session, requester: Requester, request_id: int) -> LegalRequest:
    request = session.get(LegalRequest, request_id)
    if request is None or not (request.requester_id == requester.id or supervises(session, requester, request)):
        raise RequestNotFound(f"You have no request {request_id}.")
    return request


def transfer(session: Session, requester: Requester, request_id: int, to_email: str, *, clock: Clock) -> LegalRequest:
    """Hand a request to another approved officer of the same agency (the officer's own, or as supervisor)."""
    request = _own(session, requester, request_id)
    target = next((c for c in colleagues(session, requester) if c.email == to_email.strip().lower()), None)
    if target is None or target.id == request.requester_id:
        raise InvalidInput(f"{to_email} is not another approved officer of your agency; requests are transferred "
                           "only within the agency.")
    previous = request.requester_email
    request.requester_id, request.requester_email = target.id, target.email
    actor = f"officer:{requester.email}"
    event(session, request, actor=actor, kind="transferred", clock=clock, requester_visible=True,
          text=f"Transferred from {previous} to {target.email} by {requester.email}.")
    audit.record(session, actor=actor, action="legal.request.transfer", subject=f"legal_request:{request.id}",
                 details={"from": previous, "to": target.email}, clock=clock)
    notify.queue(session, to=target.email, subject=f"Request {request.reference} is now yours", clock=clock,
                 kind="legal.transferred", subject_ref=f"legal_request:{request.id}", actor=actor,
                 text=f"{requester.email} transferred law-enforcement request {request.reference} to you. Follow it in "
                      "the portal.")
    intake.refresh(session, request, actor=actor, clock=clock)
    return request


@dataclass(frozen=True)
class OwnRequest:
    """What an officer sees of their request: never reviewers' notes, scope reasoning or other people's data."""

    id: int
    reference: str
    instrument: str
    instrument_title: str
    status: str
    received_at: datetime
    due_at: datetime | None
    missing: list[dict[str, str]]  # [{"key": "case_number", "label": "the case or FIR number"}]; problems have key ""
    events: list[dict[str, Any]]
    categories: list[str] = ()  # type: ignore[assignment]
    officer: str = ""  # whose request it is (a supervisor sees the agency's)


def _public_status(request: LegalRequest) -> str:
    if request.verification == "held" or request.fraudulent:
        return "received"  # never answered, and never told why
    return {"pending_approval": "in review", "approved": "in review", "collected": "in review", "open": "in review"
            }.get(request.status, request.status.replace("_", " "))


def _missing(request: LegalRequest) -> list[dict[str, str]]:
    """What the desk still needs, each by its title; a stated problem (not a field) carries no key."""
    labels = catalogue.field_labels()
    return [{"key": key if key in labels else "", "label": labels.get(key, key)}
            for key in json.loads(request.missing_json or "[]")]


def _view(session: Session, request: LegalRequest, titles: dict[str, str]) -> OwnRequest:
    held = request.verification == "held" or request.fraudulent
    return OwnRequest(
        id=request.id, reference=request.reference, instrument=request.instrument_key,
        instrument_title=titles.get(request.instrument_key, request.instrument_key),
        status=_public_status(request), received_at=request.received_at, due_at=request.due_at,
        missing=[] if held else _missing(request),
        events=[] if held else [{"at": e.at, "kind": e.kind, "text": e.text}
                                for e in events_of(session, request.id, requester_view=True)],
        categories=json.loads(request.categories_json or "[]"), officer=request.requester_email,
    )


def _titles(session: Session) -> dict[str, str]:
    return {r.key: r.title for r in catalogue.list_instruments(session, include_inactive=True)}


def list_own_requests(session: Session, requester: Requester) -> list[OwnRequest]:
    """The officer's requests (a supervisor's: the agency's), newest first."""
    mine = LegalRequest.requester_id == requester.id
    if requester.supervisor:
        agency_id = agency_of(session, requester)
        mine = or_(mine, LegalRequest.agency_id == agency_id) if agency_id is not None else mine
    titles = _titles(session)
    rows = session.scalars(select(LegalRequest).where(mine).order_by(LegalRequest.received_at.desc()))
    return [_view(session, request, titles) for request in rows]


#: What an officer may filter their requests by: the statuses they are shown (`_public_status`), never the
#: desk's own (filtering by "fraudulent" or "held" would tell an officer what the desk keeps from them).
_INTERNAL = ("received", "held", "fraudulent")
PUBLIC_STATUSES = ("received", "in review", *(key.replace("_", " ") for key in TITLES["status"]
                                               if key not in (*_INTERNAL, "pending_approval", "approved", "collected",
                                                              "open")))


def public_title(status: str) -> str:
    """The title of a status as the officer sees it ("in review" is the officer's name for several).

    The officer-facing titles (`TITLES["portal"]`) come first, so the list, its filter and the
    request page name a status alike; the desk's own titles are the fallback."""
    return TITLES["portal"].get(status) or TITLES["status"].get(status.replace(" ", "_"), status.capitalize())


def _public_clause(status: str):  # type: ignore[no-untyped-def]
    """Rows whose `_public_status` is `status`, as SQL over the indexed status column."""
    if status not in PUBLIC_STATUSES:
        raise InvalidInput(f"There is no request status {status!r}; pick one from the list.")
    keys = [key for key in TITLES["status"] if key not in _INTERNAL[1:] and
            _public_status(LegalRequest(status=key, verification="", fraudulent=False)) == status]
    hidden = or_(LegalRequest.verification == "held", LegalRequest.fraudulent.is_(True))
    if status == "received":
        return or_(LegalRequest.status.in_([*keys, *_INTERNAL[1:]]), hidden)
    return and_(LegalRequest.status.in_(keys), ~hidden)


def own_requests_page(session: Session, requester: Requester, *, reference: str = "", status: str = "",
                      cursor: str | None = None, limit: int | None = None) -> Page[OwnRequest]:
    """The officer's requests (a supervisor's: the agency's) matching the filters, newest first, one keyset page.

    The officer's scope is applied first and always, so no reference, status or cursor reaches another's request.
    """
    size = page_size(limit)
    mine = LegalRequest.requester_id == requester.id
    if requester.supervisor:
        agency_id = agency_of(session, requester)
        mine = or_(mine, LegalRequest.agency_id == agency_id) if agency_id is not None else mine
    query = select(LegalRequest).where(mine)
    reference = exact(reference, "reference", 32)
    if reference:
        query = query.where(LegalRequest.reference == reference)
    if status:
        query = query.where(_public_clause(status))
    page = newest_first(session, query, LegalRequest.id, cursor=cursor, size=size)
    titles = _titles(session)
    return Page([_view(session, request, titles) for request in page.rows], page.next_cursor)


def view_own(session: Session, requester: Requester, request_id: int) -> OwnRequest:
    """One request as the officer sees it (a 404-style refusal for anyone else's)."""
    return _view(session, _own(session, requester, request_id), _titles(session))


def answer_follow_up(session: Session, requester: Requester, request_id: int, data: RequestUpdate, *, clock: Clock,
                     vault: Any, document: tuple[str, bytes] | None = None) -> list[str]:
    """The officer supplies what was asked for (fields and/or the signed document)."""
    request = _own(session, requester, request_id)
    actor = f"officer:{requester.email}"
    changed = []
    if document is not None:
        intake.attach_document(session, request, document[0], document[1], actor=actor, clock=clock, vault=vault)
        changed.append("document")
    changed += intake.update(session, request, data, actor=actor, clock=clock, by_requester=True)
    return changed


def send_reminder(session: Session, requester: Requester, request_id: int, *, clock: Clock, text: str = "") -> None:
    request = _own(session, requester, request_id)
    intake.requester_reminder(session, request, actor=f"officer:{requester.email}", clock=clock, source="portal",
                              from_email=requester.email, text=text)


def download_production(session: Session, requester: Requester, token: str, *, clock: Clock, vault: Any
                        ) -> tuple[str, IO[bytes]]:
    """(filename, a reader of the zip: close it when sent); the first download records the disclosure."""
    return produce.download(session, token, requester=requester, vault=vault, clock=clock)
