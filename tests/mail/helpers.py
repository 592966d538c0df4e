"""Shared helpers of the mail tests."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bastion.audit.models import AuditRecord
from bastion.clock import ManualClock
from bastion.mail import MailMessage, queue_mail


def add_mail(sessions: sessionmaker[Session], clock: ManualClock, **fields: object) -> int:
    """Queue a message in a transaction of its own (as the event causing it would) and return its id."""
    defaults: dict[str, object] = {
        "to": "officer@police.example", "subject": "Request LE-2026-0012 received",
        "text": "We received your request and will answer by 12 January.", "kind": "legal.acknowledgement",
        "subject_ref": "legal-request:12", "actor": "user:desk",
    }
    with sessions() as session:
        row = queue_mail(session, clock=clock, **{**defaults, **fields})  # type: ignore[arg-type]
        session.commit()
        return row.id


def row(sessions: sessionmaker[Session], mail_id: int) -> MailMessage:
    with sessions() as session:
        return session.get_one(MailMessage, mail_id)


def audit_actions(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(AuditRecord.action).order_by(AuditRecord.seq)))
