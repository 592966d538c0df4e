"""Fixtures: a real SMTP server on loopback, and a task context that sends through it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

pytest.importorskip("aiosmtpd", reason="the mail tests need aiosmtpd (a dev dependency)")

from bastion.clock import ManualClock
from bastion.executor import TaskContext
from bastion.mail import MAIL_POLICY, MAIL_SENDER, MailPolicy, SmtpSender
from tests.mail.smtpd import HOST, LocalSmtp

FROM = "Bastion Legal Desk <legal@bastion.example>"
#: No jitter, so a test can say exactly when a retry is due.
POLICY = MailPolicy(max_attempts=3, base_delay=timedelta(seconds=30), max_delay=timedelta(minutes=5), jitter=0,
                    lease=timedelta(minutes=1))


@pytest.fixture
def smtp_server() -> Iterator[LocalSmtp]:
    """A running SMTP server on a free loopback port."""
    server = LocalSmtp()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp_sender(smtp_server: LocalSmtp) -> SmtpSender:
    return SmtpSender(HOST, smtp_server.port, from_address=FROM, security="none", timeout=10)


@pytest.fixture
def ctx(sessions: sessionmaker[Session], clock: ManualClock, smtp_sender: SmtpSender) -> TaskContext:
    return TaskContext(sessions=sessions, clock=clock, services={MAIL_SENDER: smtp_sender, MAIL_POLICY: POLICY})


@pytest.fixture
def lite(sqlite_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on SQLite only, for tests about input or transport rather than storage."""
    from bastion.db import make_engine, make_sessionmaker

    engine = make_engine(sqlite_url)
    yield make_sessionmaker(engine)
    engine.dispose()
