"""The message thread between the requesting officer and the legal desk, one per request.

Why a thread and not mail: the desk must be able to show a court, or a supervisor, exactly what
was said to whom and when, and child-safety details do not belong in mailboxes. So the text is
kept here and read in the portal; mail only says that a message is waiting, with a link. Every
message from the desk is audited (with a digest of its text); attachments are kept in the
evidence vault like any other document of the request.

Held and fraudulent requests are never answered, in the thread or otherwise.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bastion import audit
from bastion.clock import Clock
from bastion.errors import InvalidInput
from bastion.legal import catalogue, clocks, intake, notify
from bastion.legal.errors import RequestNotFound
from bastion.legal.models import LegalRequest, Message, RequestDocument, Requester
from bastion.legal.settings import NODAL_OFFICER_EMAIL
from bastion.legal.timeline import subject
from bastion.orgsettings import get_value

#: A message is read by a person; anything longer is a document and goes as an attachment.
MAX_BODY = 20_000
MAX_ATTACHMENTS = 5

#: Templated replies and refusals. Staff pick one, edit it, and send it; placeholders are filled
#: from the request (reference, instrument, citation, due, missing).
TEMPLATES: dict[str, tuple[str, str]] = {
    "acknowledge": ("Acknowledge receipt",
                    "We have received your request {reference} ({instrument}) and are reviewing it. "
                    "We will answer by {due}."),
    "ask_more": ("Ask for more information",
                 "To process your request {reference} we need the following: {missing}. "
                 "Please answer in the portal, in one reply if you can."),
    "refuse_invalid": ("Refuse: not a valid request",
                       "We cannot answer request {reference}: it does not meet the requirements of {instrument} "
                       "({citation}). The reason is: [state the reason]. You may send a corrected request."),
    "refuse_scope": ("Refuse in part: outside what the instrument compels",
                     "Under {instrument} ({citation}) we can produce only part of what request {reference} asks "
                     "for. We will not produce: [the categories, and why]."),
    "mlat_content": ("Content held in the United States: treaty route",
                     "Part of what request {reference} asks for is the content of communications held by a United "
                     "States provider. US law (18 U.S.C. s.2702) lets it disclose content to a foreign government "
                     "only through a mutual legal assistance request (MLAT) or an agreement under the CLOUD Act, "
                     "which India does not have. We can produce the non-content data (subscriber, identification "
                     "and traffic data) on your notice."),
    "produced": ("Production ready",
                 "The data produced for request {reference} is ready. Download it from the portal; the link "
                 "was sent to you separately and expires."),
}


@dataclass(frozen=True)
class Attachment:
    id: int
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class MessageView:
    id: int
    direction: str  # in (from the officer), out (from the desk)
    author_name: str
    body: str
    template: str
    reply_to: int | None
    created_at: datetime
    read_at: datetime | None
    attachments: list[Attachment]


def fill(session: Session, request: LegalRequest, key: str) -> str:
    """The template `key` with the request's own facts filled in."""
    if key not in TEMPLATES:
        raise InvalidInput(f"No message template {key!r}; choose one of: {', '.join(TEMPLATES)}.")
    rule = catalogue.get_instrument(session, request.instrument_key)
    labels = catalogue.field_labels()
    missing = [labels.get(m, m) for m in json.loads(request.missing_json or "[]")]
    facts = {"reference": request.reference,
             "instrument": rule.title, "citation": rule.citation,
             "due": f"{request.due_at:%Y-%m-%d %H:%M} UTC" if request.due_at else "the date the law sets",
             "missing": "; ".join(missing) or "[what is needed]"}
    return TEMPLATES[key][1].format_map(facts)


def _check(body: str, attachments: Sequence[tuple[str, bytes]]) -> str:
    text = body.strip()
    if not text and not attachments:
        raise InvalidInput("Write a message (or attach a document) before sending.")
    if len(text) > MAX_BODY:
        raise InvalidInput(f"The message is {len(text):,} characters; the limit is {MAX_BODY:,}. Attach a "
                           "longer text as a document.")
    if len(attachments) > MAX_ATTACHMENTS:
        raise InvalidInput(f"At most {MAX_ATTACHMENTS} attachments per message.")
    return text


def _keep(session: Session, request: LegalRequest, attachments: Sequence[tuple[str, bytes]], *, actor: str,
          clock: Clock, vault: Any) -> list[int]:
    return [intake.attach_document(session, request, name, data, actor=actor, clock=clock, vault=vault,
                                   refresh_after=False).id for name, data in attachments]


def _reply_target(session: Session, request: LegalRequest, reply_to: int | None) -> int | None:
    if reply_to is None:
        return None
    parent = session.get(Message, reply_to)
    if parent is None or parent.request_id != request.id:
        raise InvalidInput(f"Message {reply_to} is not in this request's thread.")
    return parent.id


def send_from_desk(session: Session, request: LegalRequest, *, body: str, actor: str, author_name: str,
                   clock: Clock, base_url: str, template: str = "", reply_to: int | None = None,
                   attachments: Sequence[tuple[str, bytes]] = (), vault: Any = None) -> Message:
    """Staff write to the officer: kept in the thread, announced by mail, audited."""
    if request.verification == "held" or request.fraudulent:
        raise InvalidInput("This request is held (its sender is not verified) or fraudulent: held requests are "
                           "never answered. Verify the sender first.")
    if template and not body.strip():
        body = fill(session, request, template)  # raises for an unknown template
    if template and template not in TEMPLATES:
        raise InvalidInput(f"No message template {template!r}; choose one of: {', '.join(TEMPLATES)}.")
    text = _check(body, attachments)
    blank = re.search(r"\[[^\]]{3,60}\]", text)
    if blank:
        raise InvalidInput(f"Replace {blank.group(0)} in the message with the facts before sending it.")
    message = Message(request_id=request.id, direction="out", author=actor, author_name=author_name, body=text,
                      template=template, reply_to=_reply_target(session, request, reply_to), created_at=clock.now(),
                      documents_json=json.dumps(_keep(session, request, attachments, actor=actor, clock=clock,
                                                      vault=vault)))
    session.add(message)
    session.flush()
    link = f"{base_url.rstrip('/')}/portal/requests/{request.id}"
    notify.requester(session, request, subject=f"A message about your request {request.reference}", clock=clock,
                     actor=actor, kind="message",
                     text=f"The legal desk wrote to you about request {request.reference}. Read it and reply in the "
                          f"portal: {link}\nThe text is kept in the portal, not in this mail.",
                     timeline_text="Message from the legal desk")
    audit.record(session, actor=actor, action="legal.message.send", subject=subject(request), clock=clock,
                 details={"message": message.id, "template": template, "documents": json.loads(message.documents_json),
                          "sha256": hashlib.sha256(text.encode()).hexdigest()})
    return message


def send_from_officer(session: Session, request: LegalRequest, requester: Requester, *, body: str, clock: Clock,
                      base_url: str, reply_to: int | None = None, attachments: Sequence[tuple[str, bytes]] = (),
                      vault: Any = None) -> Message:
    """The officer writes to the desk; the assignee and the legal lead are told by mail."""
    text = _check(body, attachments)
    actor = f"officer:{requester.email}"
    message = Message(request_id=request.id, direction="in", author=actor, author_name=requester.name or requester.email,
                      body=text, reply_to=_reply_target(session, request, reply_to), created_at=clock.now(),
                      documents_json=json.dumps(_keep(session, request, attachments, actor=actor, clock=clock,
                                                      vault=vault)))
    session.add(message)
    session.flush()
    if attachments:
        intake.refresh(session, request, actor=actor, clock=clock)  # a document may be what was missing
    notify.staff(session, request, to=[clocks.assignee_address(session, request),
                                       str(get_value(session, NODAL_OFFICER_EMAIL))],
                 subject=f"The officer wrote about {request.reference}", clock=clock, actor=actor,
                 kind="officer_message",
                 text=f"{requester.name or requester.email} wrote about request {request.reference}. Read it on the "
                      f"request page: {base_url.rstrip('/')}/legal/requests/{request.id}")
    return message


def thread(session: Session, request_id: int) -> list[MessageView]:
    """The request's messages, oldest first, with their attachments."""
    rows = list(session.scalars(select(Message).where(Message.request_id == request_id).order_by(Message.id)))
    ids = [i for m in rows for i in json.loads(m.documents_json or "[]")]
    documents = {d.id: d for d in session.scalars(select(RequestDocument).where(RequestDocument.id.in_(ids)))} \
        if ids else {}
    return [MessageView(id=m.id, direction=m.direction, author_name=m.author_name, body=m.body, template=m.template,
                        reply_to=m.reply_to, created_at=m.created_at, read_at=m.read_at,
                        attachments=[Attachment(d.id, d.filename, d.content_type, d.size)
                                     for d in (documents.get(i) for i in json.loads(m.documents_json or "[]")) if d])
            for m in rows]


def mark_read(session: Session, request_id: int, *, direction: str, clock: Clock) -> None:
    """The other side opened the thread: its unread messages in `direction` are now read."""
    session.execute(update(Message).where(Message.request_id == request_id, Message.direction == direction,
                                          Message.read_at.is_(None)).values(read_at=clock.now()))


def attachment_of(session: Session, request: LegalRequest, document_id: int) -> RequestDocument:
    """A document attached to a message of this request (what the officer may download from the thread)."""
    for m in session.scalars(select(Message).where(Message.request_id == request.id)):
        if document_id in json.loads(m.documents_json or "[]"):
            document = session.get(RequestDocument, document_id)
            if document is not None and document.request_id == request.id:
                return document
    raise RequestNotFound(f"No attachment {document_id} on this request.")


def templates_for(session: Session, request: LegalRequest) -> list[tuple[str, str, str]]:
    """(key, title, filled text) of every template, for the staff form."""
    return [(key, title, fill(session, request, key)) for key, (title, _) in TEMPLATES.items()]


def open_document(session: Session, request: LegalRequest, document_id: int, *, actor: str, vault: Any,
                  attachments_only: bool = False) -> tuple[str, str, bytes]:
    """(filename, content type, bytes) of a document of `request`, read from the vault (custody records it).

    `attachments_only` limits it to documents attached to the thread (what an officer may open).
    """
    document = attachment_of(session, request, document_id) if attachments_only else \
        session.get(RequestDocument, document_id)
    if document is None or document.request_id != request.id:
        raise RequestNotFound(f"No document {document_id} on this request.")
    if vault is None:
        raise InvalidInput("The evidence vault is not configured, so documents cannot be opened.")
    data = vault.open(session, document.evidence_id, actor=actor, reason=f"document of legal request {request.reference}")
    return document.filename, document.content_type, data
