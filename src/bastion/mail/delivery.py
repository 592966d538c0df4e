"""Delivering queued mail, safely from any number of processes.

The actions outbox's pattern: candidates are selected with `FOR UPDATE SKIP LOCKED` on
PostgreSQL, and each claim is a conditional UPDATE that only succeeds while the row is
still claimable (which is what makes it safe on SQLite too). A claim is a lease with a
fresh token; only the holder of the current token may record an outcome.

No database transaction is open while the server is talked to. If a worker dies after
the server accepted a message but before the outcome is committed, the lease expires
and another worker sends it again: SMTP has no idempotency keys, so this is the one
way a recipient can get a message twice, and then it is the identical message with the
same Message-ID, which mail clients show once.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bastion import audit
from bastion.clock import Clock
from bastion.mail._sql import rowcount
from bastion.mail.compose import OutgoingMail, compose, message_id_for
from bastion.mail.errors import MailDeliveryError, MailRejected
from bastion.mail.models import MailMessage, MailStatus
from bastion.mail.policy import MailPolicy
from bastion.mail.smtp import MailSender

log = logging.getLogger(__name__)

ACTOR = "system:mail"
_CANDIDATES = 8
_WAITING = (MailStatus.PENDING.value, MailStatus.RETRYING.value)


@dataclass
class SendReport:
    """What one `send_due` did, by message id."""

    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    dead: list[int] = field(default_factory=list)
    #: Outcomes not recorded because the lease had expired and another worker took over.
    lost: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class _Claim:
    token: str
    attempts: int
    mail: OutgoingMail
    subject_ref: str


def next_due(session: Session) -> datetime | None:
    """When the outbox next has work: the earliest retry, or the earliest lease to expire."""
    waiting = session.scalar(select(func.min(MailMessage.next_attempt_at)).where(MailMessage.status.in_(_WAITING)))
    leased = session.scalar(select(func.min(MailMessage.lease_until)).where(MailMessage.status == MailStatus.SENDING))
    return min((t for t in (waiting, leased) if t is not None), default=None)


class MailDeliverer:
    """Claims due messages and hands them to a `MailSender`."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        sender: MailSender,
        clock: Clock,
        *,
        policy: MailPolicy | None = None,
        name: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._sessions, self._sender, self._clock = sessions, sender, clock
        self.policy = policy or MailPolicy()
        self.name = (name or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}")[:100]
        self._rng = rng or random.Random()

    def send_due(self, limit: int = 50) -> SendReport:
        """Attempt up to `limit` due messages once each; failures are rescheduled, not raised."""
        report = SendReport()
        self._bury_abandoned(report)
        for _ in range(limit):
            claim = self._claim_next()
            if claim is None:
                break
            self._attempt(claim, report)
        return report

    # -- claiming -----------------------------------------------------------------

    def _claimable(self, now: datetime) -> ColumnElement[bool]:
        return or_(
            and_(MailMessage.status.in_(_WAITING), MailMessage.next_attempt_at <= now),
            and_(MailMessage.status == MailStatus.SENDING, MailMessage.lease_until <= now,
                 MailMessage.attempts < self.policy.max_attempts),
        )

    def _claim_next(self) -> _Claim | None:
        """Lease one due row (skipping rows other workers hold) and return what to send."""
        now = self._clock.now()
        claimable = self._claimable(now)
        with self._sessions() as session, session.begin():
            candidates = session.scalars(
                select(MailMessage.id).where(claimable)
                .order_by(MailMessage.next_attempt_at, MailMessage.id)
                .limit(_CANDIDATES).with_for_update(skip_locked=True)
            ).all()
            for mail_id in candidates:
                token = uuid.uuid4().hex
                claimed = rowcount(session.execute(
                    update(MailMessage).where(MailMessage.id == mail_id, claimable)
                    .values(status=MailStatus.SENDING.value, attempts=MailMessage.attempts + 1,
                            lease_until=now + self.policy.lease, leased_by=self.name, lease_token=token,
                            updated_at=now)
                    .execution_options(synchronize_session=False)
                ))
                if claimed == 1:
                    row = session.get_one(MailMessage, mail_id, populate_existing=True)
                    mail = OutgoingMail(row.id, row.idempotency_key, row.kind, tuple(row.to_addrs), row.subject,
                                        row.text_body, row.html_body, row.created_at)
                    return _Claim(token, row.attempts, mail, row.subject_ref)
        return None

    def _bury_abandoned(self, report: SendReport) -> None:
        """Dead-letter rows whose last allowed attempt never reported back (a worker kept dying on them)."""
        now = self._clock.now()
        abandoned = and_(MailMessage.status == MailStatus.SENDING, MailMessage.lease_until <= now,
                         MailMessage.attempts >= self.policy.max_attempts)
        with self._sessions() as session, session.begin():
            rows = session.execute(
                select(MailMessage.id, MailMessage.subject_ref, MailMessage.attempts)
                .where(abandoned).with_for_update(skip_locked=True)
            ).all()
            for mail_id, subject_ref, attempts in rows:
                error = (f"no outcome was recorded for attempt {attempts} of {self.policy.max_attempts} "
                         "(the worker died or timed out); the message may have been sent")
                buried = rowcount(session.execute(
                    update(MailMessage).where(MailMessage.id == mail_id, abandoned)
                    .values(status=MailStatus.DEAD.value, last_error=error, updated_at=now,
                            lease_until=None, lease_token=None)
                    .execution_options(synchronize_session=False)
                ))
                if buried == 1:
                    audit.record(session, actor=ACTOR, action="mail.dead", subject=subject_ref, clock=self._clock,
                                 details={"mail_id": mail_id, "attempts": attempts, "error": error})
                    report.dead.append(mail_id)

    # -- outcomes -----------------------------------------------------------------

    def _attempt(self, claim: _Claim, report: SendReport) -> None:
        message_id = message_id_for(claim.mail.idempotency_key, self._sender.sender)
        try:
            receipt = self._sender.send(compose(claim.mail, self._sender.sender))
        except MailRejected as exc:  # permanent: retrying cannot help
            self._outcome(claim, report.dead, "mail.dead", {"error": str(exc)[:2000]},
                          status=MailStatus.DEAD.value, last_error=str(exc)[:2000], report=report)
        except Exception as exc:  # unavailable, or our own bug: bounded retries
            if not isinstance(exc, MailDeliveryError):
                log.exception("mail delivery failed unexpectedly", extra={"mail": claim.mail.id})
            self._retry_later(claim, exc, report)
        else:
            refused = receipt.get("refused") or {}
            self._outcome(claim, report.sent, "mail.sent", {"message_id": message_id, "receipt": receipt},
                          status=MailStatus.SENT.value, message_id=message_id, sent_at=self._clock.now(),
                          last_error=f"not delivered to: {refused}"[:2000] if refused else "", report=report)

    def _retry_later(self, claim: _Claim, exc: Exception, report: SendReport) -> None:
        error = (str(exc) if isinstance(exc, MailDeliveryError) else f"{type(exc).__name__}: {exc}")[:2000]
        if claim.attempts >= self.policy.max_attempts:
            error = f"gave up after {claim.attempts} attempts; last error: {error}"[:2000]
            self._outcome(claim, report.dead, "mail.dead", {"error": error},
                          status=MailStatus.DEAD.value, last_error=error, report=report)
            return
        when = self._clock.now() + self.policy.delay(claim.attempts, self._rng)
        log.warning("mail delivery will be retried",
                    extra={"mail": claim.mail.id, "attempt": claim.attempts, "error": type(exc).__name__})
        self._outcome(claim, report.retrying, "mail.retry", {"error": error, "next_attempt_at": when.isoformat()},
                      status=MailStatus.RETRYING.value, last_error=error, next_attempt_at=when, report=report)

    def _outcome(self, claim: _Claim, bucket: list[int], audit_action: str, details: dict[str, Any], *,
                 report: SendReport, **values: Any) -> None:
        """Write an outcome and its audit record, if this worker still holds the lease."""
        now = self._clock.now()
        with self._sessions() as session, session.begin():
            written = rowcount(session.execute(
                update(MailMessage)
                .where(MailMessage.id == claim.mail.id, MailMessage.status == MailStatus.SENDING,
                       MailMessage.lease_token == claim.token)
                .values(lease_until=None, lease_token=None, updated_at=now, **values)
                .execution_options(synchronize_session=False)
            ))
            if written != 1:
                log.warning("lease lost before the outcome was recorded", extra={"mail": claim.mail.id})
                report.lost.append(claim.mail.id)
                return
            audit.record(session, actor=ACTOR, action=audit_action, subject=claim.subject_ref, clock=self._clock,
                         details={"mail_id": claim.mail.id, "kind": claim.mail.kind, "attempt": claim.attempts,
                                  **details})
            bucket.append(claim.mail.id)
