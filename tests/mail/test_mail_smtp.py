"""Delivery over a real SMTP server on loopback: sent, retried after an outage, refused, logged safely."""

from __future__ import annotations

import logging
import random
from base64 import b64encode
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bastion.audit.models import AuditRecord
from bastion.clock import ManualClock
from bastion.executor import InlineExecutor, TaskContext
from bastion.mail import (
    MAIL_POLICY,
    MAIL_SENDER,
    SEND_TASK,
    MailDeliverer,
    MailNotConfigured,
    MailStatus,
    SmtpSender,
    requeue,
    run_send,
)
from bastion.mail.tasks import HEARTBEAT
from bastion.timers import Ticker
from bastion.timers.models import Timer
from tests.mail.conftest import FROM, POLICY
from tests.mail.helpers import add_mail, audit_actions, row
from tests.mail.smtpd import HOST, PASSWORD, USERNAME, LocalSmtp, free_port, self_signed


def _timer(sessions: sessionmaker[Session]) -> Timer:
    with sessions() as session:
        return session.scalars(select(Timer).where(Timer.kind == SEND_TASK)).one()


def test_the_ticker_delivers_a_queued_message_over_smtp(sessions: sessionmaker[Session], clock: ManualClock,
                                                        ctx: TaskContext, smtp_server: LocalSmtp) -> None:
    mail_id = add_mail(sessions, clock, to=["officer@police.example", "sergeant@police.example"],
                       html="<p>We received your request.</p>")
    Ticker(ctx, name="ticker-1").tick()

    sent = row(sessions, mail_id)
    assert (sent.status, sent.attempts, sent.sent_at, sent.last_error) == (MailStatus.SENT, 1, clock.now(), "")
    [received] = smtp_server.received
    assert received.mail_from == "legal@bastion.example"
    assert received.rcpt_tos == ("officer@police.example", "sergeant@police.example")
    message = received.message
    assert message["Subject"] == "Request LE-2026-0012 received"
    assert message["From"] == FROM
    assert sent.message_id is not None and sent.message_id.endswith("@bastion.example>")
    assert message["Message-ID"] == sent.message_id
    assert message["Auto-Submitted"] == "auto-generated"
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert isinstance(plain, EmailMessage) and "will answer by 12 January" in plain.get_content()
    assert isinstance(html, EmailMessage) and "<p>We received your request.</p>" in html.get_content()
    assert audit_actions(sessions) == ["mail.queue", "mail.sent"]
    timer = _timer(sessions)
    assert (timer.status, timer.due_at) == ("pending", clock.now() + HEARTBEAT)  # idle: a slow heartbeat

    Ticker(ctx, name="ticker-1").tick()  # nothing due: nothing is sent twice
    assert len(smtp_server.received) == 1


def test_a_message_queued_while_the_server_is_down_is_delivered_once_it_is_back(
        sessions: sessionmaker[Session], clock: ManualClock, ctx: TaskContext, smtp_server: LocalSmtp) -> None:
    smtp_server.stop()
    mail_id = add_mail(sessions, clock)
    report = run_send(ctx)
    assert report.retrying == [mail_id]
    waiting = row(sessions, mail_id)
    assert waiting.status == MailStatus.RETRYING
    assert "could not be reached" in waiting.last_error and "ConnectionRefusedError" in waiting.last_error
    assert waiting.next_attempt_at == clock.now() + POLICY.base_delay
    assert _timer(sessions).due_at == waiting.next_attempt_at  # the wake-up follows the retry

    smtp_server.start()
    clock.advance(POLICY.base_delay - timedelta(milliseconds=1))
    assert run_send(ctx).sent == []  # not due yet
    clock.advance(timedelta(milliseconds=1))
    assert run_send(ctx).sent == [mail_id]
    assert row(sessions, mail_id).attempts == 2
    assert len(smtp_server.received) == 1
    assert audit_actions(sessions) == ["mail.queue", "mail.retry", "mail.sent"]


def test_a_server_that_stays_down_dead_letters_the_message_and_an_operator_can_requeue_it(
        sessions: sessionmaker[Session], clock: ManualClock, ctx: TaskContext, smtp_server: LocalSmtp) -> None:
    smtp_server.stop()
    mail_id = add_mail(sessions, clock)
    for attempt in range(1, POLICY.max_attempts + 1):
        report = run_send(ctx)
        assert (report.dead if attempt == POLICY.max_attempts else report.retrying) == [mail_id]
        clock.advance(POLICY.max_delay)
    dead = row(sessions, mail_id)
    assert dead.status == MailStatus.DEAD and dead.last_error.startswith("gave up after 3 attempts")

    smtp_server.start()
    with sessions() as session:
        requeue(session, mail_id, actor="user:admin", clock=clock)
        session.commit()
    InlineExecutor(ctx).submit(SEND_TASK, {}).result()  # any executor runs the same task
    assert row(sessions, mail_id).status == MailStatus.SENT
    assert audit_actions(sessions)[-2:] == ["mail.requeue", "mail.sent"]


def test_a_permanent_refusal_dead_letters_at_once_and_a_partial_one_is_recorded(
        sessions: sessionmaker[Session], clock: ManualClock, ctx: TaskContext, smtp_server: LocalSmtp) -> None:
    smtp_server.handler.refuse["gone@police.example"] = "550 5.1.1 No such user"
    refused = add_mail(sessions, clock, to="gone@police.example")
    partly = add_mail(sessions, clock, to=["gone@police.example", "officer@police.example"])
    report = run_send(ctx)
    assert (report.dead, report.sent) == ([refused], [partly])
    assert "550 5.1.1 No such user" in row(sessions, refused).last_error
    assert row(sessions, refused).attempts == 1
    assert "gone@police.example" in row(sessions, partly).last_error
    assert [r.rcpt_tos for r in smtp_server.received] == [("officer@police.example",)]


def test_a_worker_that_dies_after_the_server_accepted_resends_the_identical_message(
        sessions: sessionmaker[Session], clock: ManualClock, smtp_server: LocalSmtp, smtp_sender: SmtpSender) -> None:
    class DiesAfterSending:
        sender = smtp_sender.sender

        def send(self, message: EmailMessage) -> dict[str, Any]:
            smtp_sender.send(message)
            raise SystemExit("killed")  # not an Exception: nothing is recorded, as in a real crash

    mail_id = add_mail(sessions, clock)
    with pytest.raises(SystemExit):
        MailDeliverer(sessions, DiesAfterSending(), clock, policy=POLICY, name="worker-1").send_due()
    assert row(sessions, mail_id).status == MailStatus.SENDING

    other = MailDeliverer(sessions, smtp_sender, clock, policy=POLICY, name="worker-2")
    assert other.send_due().sent == []  # the first worker's lease still holds
    clock.advance(POLICY.lease)
    assert other.send_due().sent == [mail_id]
    first, second = smtp_server.received
    assert first.data == second.data  # same Date, same Message-ID: one message, twice
    assert row(sessions, mail_id).message_id == first.message["Message-ID"]


def test_credentials_go_to_the_server_and_nowhere_else(
        lite: sessionmaker[Session], clock: ManualClock, tmp_path: Path,
        caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> None:
    server_tls, client_tls = self_signed(tmp_path)
    server = LocalSmtp(login=True, tls=server_tls)
    server.start()
    try:
        caplog.set_level(logging.DEBUG)
        wrong = SmtpSender(HOST, server.port, from_address=FROM, username=USERNAME, password="wrong-" + PASSWORD,
                           ssl_context=client_tls, timeout=10)
        right = SmtpSender(HOST, server.port, from_address=FROM, username=USERNAME, password=PASSWORD,
                           ssl_context=client_tls, timeout=10)
        mail_id = add_mail(lite, clock)
        ctx = TaskContext(sessions=lite, clock=clock, services={MAIL_SENDER: wrong, MAIL_POLICY: POLICY})
        assert run_send(ctx).retrying == [mail_id]
        assert "did not accept our login: 535" in row(lite, mail_id).last_error

        clock.advance(POLICY.max_delay)
        ctx = TaskContext(sessions=lite, clock=clock, services={MAIL_SENDER: right, MAIL_POLICY: POLICY})
        assert run_send(ctx).sent == [mail_id]  # over STARTTLS, with a verified certificate
        assert len(server.received) == 1
    finally:
        server.stop()

    with lite() as session:
        stored = [row(lite, mail_id).last_error, *session.scalars(select(AuditRecord.details))]
    out, err = capfd.readouterr()
    places = [caplog.text, out, err, repr(wrong), repr(right), *stored]
    for secret in (PASSWORD, b64encode(f"\0{USERNAME}\0{PASSWORD}".encode()).decode(), b64encode(PASSWORD.encode()).decode()):
        assert not any(secret in place for place in places)
    assert "password='**********'" in repr(right)


def test_starttls_is_required_unless_turned_off(lite: sessionmaker[Session], clock: ManualClock,
                                                smtp_server: LocalSmtp) -> None:
    insisting = SmtpSender(HOST, smtp_server.port, from_address=FROM, timeout=10)  # security="starttls"
    mail_id = add_mail(lite, clock)
    report = MailDeliverer(lite, insisting, clock, policy=POLICY, rng=random.Random(1)).send_due()
    assert report.retrying == [mail_id]
    assert "does not offer STARTTLS; refusing to send in the clear" in row(lite, mail_id).last_error
    assert smtp_server.received == []


def test_without_a_sender_the_task_fails_loudly_but_keeps_its_wake_up(lite: sessionmaker[Session],
                                                                      clock: ManualClock) -> None:
    add_mail(lite, clock)
    with pytest.raises(MailNotConfigured):
        run_send(TaskContext(sessions=lite, clock=clock))
    assert _timer(lite).due_at == clock.now() + HEARTBEAT


def test_an_unreachable_port_is_a_retry_not_a_crash(lite: sessionmaker[Session], clock: ManualClock) -> None:
    sender = SmtpSender(HOST, free_port(), from_address=FROM, security="none", timeout=5)
    mail_id = add_mail(lite, clock)
    assert MailDeliverer(lite, sender, clock, policy=POLICY).send_due().retrying == [mail_id]
