"""The mail outbox table: one row per email Bastion owes someone.

A row holds the message as Bastion composed it (recipients, subject, bodies), never
transport details: which server carries it, and the From address, are the sender's
configuration at delivery time, so a row written today survives an SMTP migration.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bastion.db.base import Base, UTCDateTime
from bastion.outbox import OutboxColumns, status_enum

#: pending -> sending -> sent, retrying, dead (`bastion.outbox.status`).
MailStatus = status_enum("MailStatus", in_flight="sending", done="sent", retrying="retrying", module=__name__)


class MailMessage(OutboxColumns, Base):
    """One email, written in the same transaction as the event that caused it.

    The Message-ID header is derived from its idempotency key, so every attempt sends the same Message-ID.
    """

    __tablename__ = "mail_messages"
    __table_args__ = (Index("ix_mail_messages_status_due", "status", "next_attempt_at"),)

    kind: Mapped[str] = mapped_column(String(64))  # e.g. "legal.acknowledgement"
    subject_ref: Mapped[str] = mapped_column(String(300), index=True)  # e.g. "legal-request:12"
    to_addrs: Mapped[list[str]] = mapped_column(JSON)
    subject: Mapped[str] = mapped_column(String(998))  # RFC 5322's line limit
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: The Message-ID header as last sent (it names the message in a recipient's mailbox).
    message_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
