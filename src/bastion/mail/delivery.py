"""Delivering queued mail, safely from any number of processes.

Leasing, attempt counting, backoff and dead-lettering are `bastion.outbox.LeaseWorker`'s,
shared with the actions outbox; this module says only how a message is sent and which
failures are permanent.

No database transaction is open while the server is talked to. If a worker dies after
the server accepted a message but before the outcome is committed, the lease expires
and another worker sends it again: SMTP has no idempotency keys, so this is the one
way a recipient can get a message twice, and then it is the identical message with the
same Message-ID, which mail clients show once.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bastion.clock import Clock
from bastion.mail.compose import OutgoingMail, compose, message_id_for
from bastion.mail.errors import MailDeliveryError, MailRejected
from bastion.mail.models import MailMessage, MailStatus
from bastion.mail.policy import MailPolicy
from bastion.mail.outbox import SENT_SECRET_BODY, is_secret_kind
from bastion.mail.queue import QUEUE
from bastion.mail.smtp import MailSender
from bastion.outbox import Claim, LeaseWorker, OutboxReport

log = logging.getLogger(__name__)

ACTOR = "system:mail"


@dataclass
class SendReport(OutboxReport):
    """What one `send_due` did, by message id."""

    sent: list[int] = field(default_factory=list)


#: When the outbox next has work: the earliest retry, or the earliest lease to expire.
next_due = QUEUE.next_due


class MailDeliverer(LeaseWorker[OutgoingMail]):
    """Claims due messages and hands them to a `MailSender`."""

    queue = QUEUE
    actor = ACTOR
    abandoned_note = "the message may have been sent"
    log = log

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
        super().__init__(sessions, clock, policy or MailPolicy(), name=name, rng=rng)
        self._sender = sender

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

    def send_one(self, mail_id: int) -> SendReport:
        """Attempt one message, if it is due and no other worker holds it (the `mail.send_row` task).

        Idempotent by outbox id, as `Deliverer.deliver_one` is.
        """
        report = SendReport()
        claim = self._claim_next(mail_id)
        if claim is not None:
            self._attempt(claim, report)
        return report

    def _work(self, row: MailMessage) -> OutgoingMail:
        return OutgoingMail(row.id, row.idempotency_key, row.kind, tuple(row.to_addrs), row.subject,
                            row.text_body, row.html_body, row.created_at)

    def _audit_details(self, claim: Claim[OutgoingMail]) -> dict[str, Any]:
        return {"mail_id": claim.id, "kind": claim.work.kind, "attempt": claim.attempts}

    def _attempt(self, claim: Claim[OutgoingMail], report: SendReport) -> None:
        message_id = message_id_for(claim.work.idempotency_key, self._sender.sender)
        try:
            receipt = self._sender.send(compose(claim.work, self._sender.sender))
        except MailRejected as exc:  # permanent: retrying cannot help
            self._dead(claim, str(exc)[:2000], report)
        except Exception as exc:  # unavailable, or our own bug: bounded retries
            if not isinstance(exc, MailDeliveryError):
                log.exception("mail delivery failed unexpectedly", extra={"mail": claim.id})
            error = (str(exc) if isinstance(exc, MailDeliveryError) else f"{type(exc).__name__}: {exc}")[:2000]
            self._retry_later(claim, error, exc, report)
        else:
            refused = receipt.get("refused") or {}
            blanked = {"text_body": SENT_SECRET_BODY, "html_body": None} if is_secret_kind(claim.work.kind) else {}
            self._settle(claim, report.sent, report, "mail.sent", {"message_id": message_id, "receipt": receipt},
                         status=MailStatus.SENT.value, message_id=message_id, sent_at=self._clock.now(),
                         last_error=f"not delivered to: {refused}"[:2000] if refused else "", **blanked)

    def _gave_up(self, claim: Claim[OutgoingMail], error: str) -> str:
        return super()._gave_up(claim, error)[:2000]
