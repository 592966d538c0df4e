"""Delivering outbox rows to the platform, safely from any number of processes.

Leasing, attempt counting, backoff and dead-lettering are `bastion.outbox.LeaseWorker`'s;
this module says only how an action is carried out and which failures are permanent.

No database transaction is open while the platform is called. If a worker dies after
the platform acted but before the outcome is committed, the lease expires, another
worker sends the same request again with the same idempotency key, and the platform
answers with its stored receipt: the action happens exactly once.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bastion.actions.dispatch import perform
from bastion.actions.models import ActionStatus, OutboxAction
from bastion.actions.policy import DeliveryPolicy
from bastion.actions.queue import QUEUE
from bastion.actions.webhooks import WebhookSender
from bastion.clock import Clock
from bastion.outbox import Claim, LeaseWorker, OutboxReport
from bastion.platform import (
    PlatformConnector,
    PlatformError,
    PlatformRejected,
    PlatformResponseInvalid,
)

log = logging.getLogger(__name__)

ConnectorFactory = Callable[[], PlatformConnector]
ACTOR = "system:actions"


@dataclass
class DeliveryReport(OutboxReport):
    """What one `deliver_due` did, by action id."""

    delivered: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class _Action:
    """What a claimed row asks the platform to do."""

    kind: str
    target: str
    payload: dict[str, Any]
    idempotency_key: str


#: When the outbox next has work: the earliest retry, or the earliest lease to expire.
next_due = QUEUE.next_due


class Deliverer(LeaseWorker[_Action]):
    """Claims due outbox rows and carries them out through a `PlatformConnector`.

    `connector_factory` is called once per `deliver_due` that finds work (and the
    connector closed afterwards, if it has `close`), so a long-lived worker picks up
    rotated secrets and never shares a connection pool across threads.
    """

    queue = QUEUE
    actor = ACTOR
    abandoned_note = "the platform may have acted, and a retry is safe"
    log = log

    def __init__(
        self,
        sessions: sessionmaker[Session],
        connector_factory: ConnectorFactory,
        clock: Clock,
        *,
        webhooks: WebhookSender | None = None,
        policy: DeliveryPolicy | None = None,
        name: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(sessions, clock, policy or DeliveryPolicy(), name=name, rng=rng)
        self._factory, self._webhooks = connector_factory, webhooks

    def deliver_due(self, limit: int = 50) -> DeliveryReport:
        """Attempt up to `limit` due actions once each; failures are rescheduled, not raised.

        Only a `BaseException` (interpreter exit, a kill) escapes mid-delivery, and then the
        claimed row's lease simply runs out and another worker resends it.
        """
        report = DeliveryReport()
        self._bury_abandoned(report)
        with self._sessions() as session:
            due = next_due(session)
        if due is None or due > self._clock.now():
            return report
        with _opened(self._factory) as connector:
            for _ in range(limit):
                claim = self._claim_next()
                if claim is None:
                    break
                self._attempt(connector, claim, report)
        return report

    def deliver_one(self, action_id: int) -> DeliveryReport:
        """Attempt one action, if it is due and no other worker holds it (the `actions.deliver_row` task).

        Idempotent by outbox id: a repeated or late message finds the row delivered, dead, leased
        by another worker or waiting for its retry, and does nothing.
        """
        report = DeliveryReport()
        claim = self._claim_next(action_id)
        if claim is None:
            return report
        with _opened(self._factory) as connector:
            self._attempt(connector, claim, report)
        return report

    def _work(self, row: OutboxAction) -> _Action:
        return _Action(row.kind, row.target, dict(row.payload), row.idempotency_key)

    def _audit_details(self, claim: Claim[_Action]) -> dict[str, Any]:
        return {"action_id": claim.id, "kind": claim.work.kind, "target": claim.work.target,
                "attempt": claim.attempts}

    def _attempt(self, connector: PlatformConnector, claim: Claim[_Action], report: DeliveryReport) -> None:
        action = claim.work
        try:
            result = perform(connector, self._webhooks, kind=action.kind, target=action.target,
                             payload=action.payload, idempotency_key=action.idempotency_key)
        except (PlatformRejected, PlatformResponseInvalid) as exc:  # permanent: retrying cannot help
            self._dead(claim, _describe(exc), report)
        except Exception as exc:  # unavailable, unexpected, or our own bug: bounded retries
            if not isinstance(exc, PlatformError):
                log.exception("action delivery failed unexpectedly", extra={"action": claim.id})
            self._retry_later(claim, _describe(exc), exc, report, getattr(exc, "retry_after", None))
        else:
            self._settle(claim, report.delivered, report, "action.deliver", {"result": result},
                         status=ActionStatus.DELIVERED.value, result=result, finished_at=self._clock.now(),
                         last_error="")


@contextmanager
def _opened(factory: ConnectorFactory) -> Iterator[PlatformConnector]:
    connector = factory()
    try:
        yield connector
    finally:
        close = getattr(connector, "close", None)
        if callable(close):
            close()


def _describe(exc: BaseException) -> str:
    """The error as an operator should read it; platform errors already carry status and request id."""
    text = str(exc) if isinstance(exc, PlatformError) else f"{type(exc).__name__}: {exc}"
    return text[:2000]
