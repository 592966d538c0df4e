"""Queueing mail: in the caller's transaction, audited, validated, deduplicated."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bastion import audit
from bastion.audit.models import AuditRecord
from bastion.clock import ManualClock
from bastion.errors import Conflict, InvalidInput, NotFound
from bastion.mail import SEND_TASK, MailMessage, MailStatus, get_mail, mail_for, queue_mail, requeue
from bastion.timers.models import Timer
from tests.mail.helpers import add_mail, audit_actions

BASE: dict[str, object] = {
    "to": "officer@police.example", "subject": "Request received", "text": "Hello.",
    "kind": "legal.acknowledgement", "subject_ref": "legal-request:12", "actor": "user:desk",
}


def test_queue_writes_a_row_an_audit_record_and_a_wake_up_in_the_callers_transaction(
        sessions: sessionmaker[Session], clock: ManualClock) -> None:
    with sessions() as session:
        message = queue_mail(session, clock=clock, **{**BASE, "to": ["a@police.example", "b@police.example"],
                                                        "html": "<p>Hello.</p>"})  # type: ignore[arg-type]
        session.rollback()  # the causing event failed: nothing may remain
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(MailMessage)) == 0
        assert session.scalar(select(func.count()).select_from(AuditRecord)) == 0
        assert session.scalar(select(func.count()).select_from(Timer)) == 0

    mail_id = add_mail(sessions, clock, to=["a@police.example", "b@police.example", "a@police.example"])
    with sessions() as session:
        message = session.get_one(MailMessage, mail_id)
        assert (message.status, message.attempts, message.to_addrs) == (
            MailStatus.PENDING, 0, ["a@police.example", "b@police.example"])
        assert message.next_attempt_at == clock.now()
        timer = session.scalars(select(Timer).where(Timer.kind == SEND_TASK)).one()
        assert timer.due_at == clock.now()
        entry = session.scalars(select(AuditRecord)).one()
        assert (entry.action, entry.actor, entry.subject) == ("mail.queue", "user:desk", "legal-request:12")
        assert '"to":["a@police.example","b@police.example"]' in entry.details
        assert audit.verify(session).ok
        views = mail_for(session, "legal-request:12")
        assert [v.id for v in views] == [mail_id] and views[0].next_attempt_at == clock.now()
        assert get_mail(session, mail_id).to == ("a@police.example", "b@police.example")
        with pytest.raises(NotFound):
            get_mail(session, 999)


def test_the_same_idempotency_key_finds_the_first_message(sessions: sessionmaker[Session], clock: ManualClock) -> None:
    first = add_mail(sessions, clock, idempotency_key="legal-request:12:ack")
    again = add_mail(sessions, clock, idempotency_key="legal-request:12:ack", subject="Reworded")
    assert again == first
    assert audit_actions(sessions) == ["mail.queue"]
    with sessions() as session, pytest.raises(Conflict, match="already belongs to message"):
        queue_mail(session, clock=clock, **{**BASE, "to": "someone-else@police.example",  # type: ignore[arg-type]
                                            "idempotency_key": "legal-request:12:ack"})
    assert add_mail(sessions, clock) != add_mail(sessions, clock)  # without a key, every call is a new message


@pytest.mark.parametrize(("field", "value", "complaint"), [
    ("to", "not-an-address", "not a plain email address"),
    ("to", "officer@police.example\r\nBcc: spy@evil.example", "not a plain email address"),
    ("to", "Officer <officer@police.example>", "not a plain email address"),
    ("to", [], "1 to 50 recipients"),
    ("subject", "Hello\r\nBcc: spy@evil.example", "single line"),
    ("subject", "", "subject must be"),
    ("text", "   ", "text body"),
    ("idempotency_key", "has spaces", "idempotency key"),
])
def test_bad_input_is_refused_before_anything_is_written(lite: sessionmaker[Session], clock: ManualClock,
                                                         field: str, value: object, complaint: str) -> None:
    with lite() as session, pytest.raises(InvalidInput, match=complaint):
        queue_mail(session, clock=clock, **{**BASE, field: value})  # type: ignore[arg-type]


def test_only_dead_messages_can_be_requeued(sessions: sessionmaker[Session], clock: ManualClock) -> None:
    mail_id = add_mail(sessions, clock)
    with sessions() as session, pytest.raises(Conflict, match="only dead messages"):
        requeue(session, mail_id, actor="user:admin", clock=clock)
    with sessions() as session, pytest.raises(NotFound):
        requeue(session, 999, actor="user:admin", clock=clock)
