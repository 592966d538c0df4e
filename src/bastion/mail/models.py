"""The mail outbox table: one row per email Bastion owes someone.

A row holds the message as Bastion composed it (recipients, subject, bodies), never
transport details: which server carries it, and the From address, are the sender's
configuration at delivery time, so a row written today survives an SMTP migration.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bastion.db.base import Base, UTCDateTime

BigId = BigInteger().with_variant(Integer, "sqlite")


class MailStatus(StrEnum):
    """Where a message is in its life.

    pending -> sending -> sent
                  |  \\-> retrying -> sending ...
                  \\----> dead  (permanent refusal, or out of attempts; an operator may requeue)
    """

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    RETRYING = "retrying"
    DEAD = "dead"


class MailMessage(Base):
    """One email, written in the same transaction as the event that caused it."""

    __tablename__ = "mail_messages"
    __table_args__ = (Index("ix_mail_messages_status_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: Unique, so replaying the event that queued a message finds it instead of adding a copy.
    #: The Message-ID header is derived from it, so every attempt sends the same Message-ID.
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(64))  # e.g. "legal.acknowledgement"
    subject_ref: Mapped[str] = mapped_column(String(300), index=True)  # e.g. "legal-request:12"
    to_addrs: Mapped[list[str]] = mapped_column(JSON)
    subject: Mapped[str] = mapped_column(String(998))  # RFC 5322's line limit
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    #: Attempts started (counted at claim time, so a worker that dies mid-send still uses one up).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    leased_by: Mapped[str] = mapped_column(String(100), default="")
    #: Fresh per claim: only the holder of the current lease may record an outcome.
    lease_token: Mapped[str | None] = mapped_column(String(32), nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    #: The Message-ID header as last sent (it names the message in a recipient's mailbox).
    message_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
