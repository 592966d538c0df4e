"""Turning a queued row into the exact message that goes on the wire.

Composition is deterministic: the same row and the same From address always give the
same bytes. `Date` is when the message was queued (RFC 5322: when it was ready to
enter the mail system) and `Message-ID` is derived from the row's idempotency key, so
if a worker dies after the server accepted a message but before the outcome was
recorded, the resend is byte-for-byte the same message, and mail clients that see it
twice show it once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

_MESSAGE_ID_LABEL = b"bastion.mail.message-id.v1\x00"


@dataclass(frozen=True)
class OutgoingMail:
    """A row's content, detached from its session (nothing is open while we talk SMTP)."""

    id: int
    idempotency_key: str
    kind: str
    to: tuple[str, ...]
    subject: str
    text: str
    html: str | None
    created_at: datetime


def message_id_for(idempotency_key: str, sender: Address) -> str:
    """`<hash@sender-domain>`: stable per row, and reveals nothing of the key it comes from."""
    digest = hashlib.sha256(_MESSAGE_ID_LABEL + idempotency_key.encode()).hexdigest()[:40]
    return f"<{digest}@{sender.domain}>"


def compose(mail: OutgoingMail, sender: Address) -> EmailMessage:
    """The message: plain text, with an HTML alternative when there is one."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(mail.to)
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(mail.created_at)
    message["Message-ID"] = message_id_for(mail.idempotency_key, sender)
    # RFC 3834: an automated message; well-behaved responders do not auto-reply to it.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(mail.text)
    if mail.html is not None:
        message.add_alternative(mail.html, subtype="html")
    return message
