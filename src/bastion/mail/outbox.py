"""Queueing mail in the caller's transaction and reading its status back.

`queue_mail` only writes a row: the event that causes an email (a request acknowledged,
a deadline near) and the email commit together or not at all, and nothing is sent until
a worker picks the committed row up. With an idempotency key, replaying the event
(a retried request, a re-run timer) finds the existing row instead of adding a copy.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bastion.clock import Clock
from bastion.errors import InvalidInput
from bastion.mail.addresses import check_header_text, check_recipients
from bastion.mail.models import MailMessage
from bastion.mail.queue import QUEUE

MAX_SUBJECT = 500
MAX_BODY = 1_000_000
_KEY = re.compile(r"[A-Za-z0-9._:\-]{1,255}")
#: What a sent message that carried a secret keeps of its body.
SENT_SECRET_BODY = "[This message carried a one-time link; its text was removed once it was sent.]"
_SECRET_KINDS: set[str] = set()


def carries_secret(kind: str) -> str:
    """Declare that messages of `kind` carry a secret (a password-reset or confirmation link).

    Their body is blanked as soon as the message is sent, so the link lives in the recipient's
    mailbox and nowhere in Bastion's database, its backups or its operations pages. Returns `kind`.
    """
    _SECRET_KINDS.add(kind)
    return kind


def is_secret_kind(kind: str) -> bool:
    return kind in _SECRET_KINDS


@dataclass(frozen=True)
class MailView:
    """What a request page shows about one message; detached from the session and the table."""

    id: int
    kind: str
    subject_ref: str
    to: tuple[str, ...]
    subject: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str
    message_id: str | None
    created_by: str
    created_at: datetime
    sent_at: datetime | None

    @classmethod
    def of(cls, row: MailMessage) -> MailView:
        waiting = QUEUE.is_waiting(row.status)
        return cls(
            id=row.id, kind=row.kind, subject_ref=row.subject_ref, to=tuple(row.to_addrs), subject=row.subject,
            status=row.status, attempts=row.attempts, next_attempt_at=row.next_attempt_at if waiting else None,
            last_error=row.last_error, message_id=row.message_id, created_by=row.created_by,
            created_at=row.created_at, sent_at=row.sent_at,
        )


def queue_mail(
    session: Session,
    *,
    to: str | Sequence[str],
    subject: str,
    text: str,
    html: str | None = None,
    kind: str,
    subject_ref: str,
    actor: str,
    clock: Clock,
    idempotency_key: str | None = None,
) -> MailMessage:
    """Add an email to the outbox in the caller's transaction (the caller commits).

    `kind` says what the message is ("legal.acknowledgement"), `subject_ref` what it is
    about ("legal-request:12"); both are for people reading the outbox and the audit log.
    Without `idempotency_key` every call is a new message. With one (1-255 of A-Z a-z
    0-9 . _ : -, derived from what the message is about, e.g. "legal-request:12:ack"),
    the same key again returns the existing row (first wins), and the same key for a
    different message raises `Conflict`.
    """
    recipients = check_recipients(to)
    subject = check_header_text("subject", subject, MAX_SUBJECT)
    kind = check_header_text("kind", kind, 64)
    subject_ref = check_header_text("subject_ref", subject_ref, 300)
    _check_body("text", text, required=True)
    if html is not None:
        _check_body("html", html, required=False)
    key = _check_key(idempotency_key) if idempotency_key is not None else f"mail:{uuid.uuid4().hex}"
    values: dict[str, Any] = {"kind": kind, "subject_ref": subject_ref, "to_addrs": recipients, "subject": subject,
                              "text_body": text, "html_body": html}
    row: MailMessage = QUEUE.add(
        session, values, key=key, actor=actor, clock=clock, audit_action="mail.queue",
        audit_details=lambda row: {"kind": kind, "to": recipients, "subject": subject},
        same=lambda row: (row.kind, row.subject_ref, list(row.to_addrs)) == (kind, subject_ref, recipients),
        describe=lambda row: f"{row.kind} for {row.subject_ref}")
    return row


def mail_for(session: Session, subject_ref: str) -> list[MailView]:
    """Every message about `subject_ref`, oldest first."""
    return [MailView.of(row) for row in QUEUE.about(session, subject_ref)]


def get_mail(session: Session, mail_id: int) -> MailView:
    return MailView.of(QUEUE.get(session, mail_id))


def requeue(session: Session, mail_id: int, *, actor: str, clock: Clock) -> MailMessage:
    """Put a dead message back in the queue with a fresh set of attempts (an operator's call).

    It keeps its Message-ID, so if an earlier attempt did reach the recipient the copy
    is recognisable as the same message.
    """
    row: MailMessage = QUEUE.requeue(session, mail_id, actor=actor, clock=clock,
                                     audit_details=lambda row: {"kind": row.kind})
    return row


# -- helpers --------------------------------------------------------------------


def _check_key(key: str) -> str:
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise InvalidInput("A mail idempotency key is 1-255 of A-Z a-z 0-9 . _ : - (e.g. 'legal-request:12:ack').")
    return key


def _check_body(name: str, value: str, *, required: bool) -> None:
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > MAX_BODY:
        raise InvalidInput(f"A message's {name} body must be {'1' if required else '0'} to {MAX_BODY} characters.")
