"""Delivering outbox rows to the platform, safely from any number of processes.

Claiming follows the ticker's pattern: candidates are selected with `FOR UPDATE SKIP
LOCKED` on PostgreSQL, and each claim is a conditional UPDATE that only succeeds while
the row is still claimable, which is what makes it safe on SQLite too. A claim is a
lease with a fresh token; only the holder of the current token may record an outcome.

No database transaction is open while the platform is called. If a worker dies after
the platform acted but before the outcome is committed, the lease expires, another
worker sends the same request again with the same idempotency key, and the platform
answers with its stored receipt: the action happens exactly once.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bastion import audit
from bastion.actions._sql import rowcount
from bastion.actions.dispatch import perform
from bastion.actions.models import ActionStatus, OutboxAction
from bastion.actions.policy import DeliveryPolicy
from bastion.actions.webhooks import WebhookSender
from bastion.clock import Clock
from bastion.platform import (
    PlatformConnector,
    PlatformError,
    PlatformRejected,
    PlatformResponseInvalid,
)

log = logging.getLogger(__name__)

ConnectorFactory = Callable[[], PlatformConnector]
ACTOR = "system:actions"
_CANDIDATES = 8
_WAITING = (ActionStatus.PENDING.value, ActionStatus.FAILED_RETRYING.value)


@dataclass
class DeliveryReport:
    """What one `deliver_due` did, by action id."""

    delivered: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    dead: list[int] = field(default_factory=list)
    #: Outcomes not recorded because the lease had expired and another worker took over.
    lost: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class _Claim:
    id: int
    token: str
    kind: str
    target: str
    payload: dict[str, Any]
    idempotency_key: str
    subject: str
    attempts: int


def next_due(session: Session) -> datetime | None:
    """When the outbox next has work: the earliest retry, or the earliest lease to expire."""
    waiting = session.scalar(
        select(func.min(OutboxAction.next_attempt_at)).where(OutboxAction.status.in_(_WAITING))
    )
    leased = session.scalar(
        select(func.min(OutboxAction.lease_until)).where(OutboxAction.status == ActionStatus.IN_FLIGHT)
    )
    return min((t for t in (waiting, leased) if t is not None), default=None)


class Deliverer:
    """Claims due outbox rows and carries them out through a `PlatformConnector`.

    `connector_factory` is called once per `deliver_due` that finds work (and the
    connector closed afterwards, if it has `close`), so a long-lived worker picks up
    rotated secrets and never shares a connection pool across threads.
    """

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
        self._sessions, self._factory, self._clock = sessions, connector_factory, clock
        self._webhooks = webhooks
        self.policy = policy or DeliveryPolicy()
        self.name = (name or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}")[:100]
        self._rng = rng or random.Random()

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

    # -- claiming -----------------------------------------------------------------

    def _claimable(self, now: datetime) -> ColumnElement[bool]:
        return or_(
            and_(OutboxAction.status.in_(_WAITING), OutboxAction.next_attempt_at <= now),
            and_(
                OutboxAction.status == ActionStatus.IN_FLIGHT,
                OutboxAction.lease_until <= now,
                OutboxAction.attempts < self.policy.max_attempts,
            ),
        )

    def _claim_next(self) -> _Claim | None:
        """Lease one due row (skipping rows other workers hold) and return what to send."""
        now = self._clock.now()
        claimable = self._claimable(now)
        with self._sessions() as session, session.begin():
            candidates = session.scalars(
                select(OutboxAction.id).where(claimable)
                .order_by(OutboxAction.next_attempt_at, OutboxAction.id)
                .limit(_CANDIDATES).with_for_update(skip_locked=True)
            ).all()
            for action_id in candidates:
                token = uuid.uuid4().hex
                claimed = rowcount(session.execute(
                    update(OutboxAction).where(OutboxAction.id == action_id, claimable)
                    .values(status=ActionStatus.IN_FLIGHT.value, attempts=OutboxAction.attempts + 1,
                            lease_until=now + self.policy.lease, leased_by=self.name, lease_token=token,
                            updated_at=now)
                    .execution_options(synchronize_session=False)
                ))
                if claimed == 1:
                    row = session.get_one(OutboxAction, action_id, populate_existing=True)
                    return _Claim(row.id, token, row.kind, row.target, dict(row.payload), row.idempotency_key,
                                  row.subject, row.attempts)
        return None

    def _bury_abandoned(self, report: DeliveryReport) -> None:
        """Dead-letter rows whose last allowed attempt never reported back (a worker kept dying on them)."""
        now = self._clock.now()
        abandoned = and_(
            OutboxAction.status == ActionStatus.IN_FLIGHT,
            OutboxAction.lease_until <= now,
            OutboxAction.attempts >= self.policy.max_attempts,
        )
        with self._sessions() as session, session.begin():
            rows = session.execute(
                select(OutboxAction.id, OutboxAction.subject, OutboxAction.attempts)
                .where(abandoned).with_for_update(skip_locked=True)
            ).all()
            for action_id, subject, attempts in rows:
                error = (
                    f"no outcome was recorded for attempt {attempts} of {self.policy.max_attempts} "
                    "(the worker died or timed out); the platform may have acted, and a retry is safe"
                )
                buried = rowcount(session.execute(
                    update(OutboxAction).where(OutboxAction.id == action_id, abandoned)
                    .values(status=ActionStatus.DEAD.value, last_error=error, finished_at=now, updated_at=now,
                            lease_until=None, lease_token=None)
                    .execution_options(synchronize_session=False)
                ))
                if buried == 1:
                    audit.record(session, actor=ACTOR, action="action.dead", subject=subject, clock=self._clock,
                                 details={"action_id": action_id, "attempts": attempts, "error": error})
                    report.dead.append(action_id)

    # -- outcomes -----------------------------------------------------------------

    def _attempt(self, connector: PlatformConnector, claim: _Claim, report: DeliveryReport) -> None:
        try:
            result = perform(connector, self._webhooks, kind=claim.kind, target=claim.target,
                             payload=claim.payload, idempotency_key=claim.idempotency_key)
        except (PlatformRejected, PlatformResponseInvalid) as exc:  # permanent: retrying cannot help
            self._dead(claim, _describe(exc), report)
        except Exception as exc:  # unavailable, unexpected, or our own bug: bounded retries
            if not isinstance(exc, PlatformError):
                log.exception("action delivery failed unexpectedly", extra={"action": claim.id})
            self._retry_later(claim, exc, report)
        else:
            self._delivered(claim, result, report)

    def _delivered(self, claim: _Claim, result: dict[str, Any], report: DeliveryReport) -> None:
        now = self._clock.now()
        if self._record(claim, "action.deliver", {"result": result},
                        status=ActionStatus.DELIVERED.value, result=result, finished_at=now, last_error=""):
            report.delivered.append(claim.id)
        else:
            report.lost.append(claim.id)

    def _dead(self, claim: _Claim, error: str, report: DeliveryReport) -> None:
        now = self._clock.now()
        if self._record(claim, "action.dead", {"error": error},
                        status=ActionStatus.DEAD.value, last_error=error, finished_at=now):
            report.dead.append(claim.id)
        else:
            report.lost.append(claim.id)

    def _retry_later(self, claim: _Claim, exc: Exception, report: DeliveryReport) -> None:
        error = _describe(exc)
        if claim.attempts >= self.policy.max_attempts:
            self._dead(claim, f"gave up after {claim.attempts} attempts; last error: {error}", report)
            return
        retry_after = getattr(exc, "retry_after", None)
        when = self._clock.now() + self.policy.delay(claim.attempts, self._rng, retry_after)
        log.warning("action delivery will be retried", extra={"action": claim.id, "attempt": claim.attempts,
                                                                "error": type(exc).__name__})
        if self._record(claim, "action.retry", {"error": error, "next_attempt_at": when.isoformat()},
                        status=ActionStatus.FAILED_RETRYING.value, last_error=error, next_attempt_at=when):
            report.retrying.append(claim.id)
        else:
            report.lost.append(claim.id)

    def _record(self, claim: _Claim, audit_action: str, details: dict[str, Any], **values: Any) -> bool:
        """Write an outcome and its audit record, if this worker still holds the lease."""
        now = self._clock.now()
        with self._sessions() as session, session.begin():
            written = rowcount(session.execute(
                update(OutboxAction)
                .where(OutboxAction.id == claim.id, OutboxAction.status == ActionStatus.IN_FLIGHT,
                       OutboxAction.lease_token == claim.token)
                .values(lease_until=None, lease_token=None, updated_at=now, **values)
                .execution_options(synchronize_session=False)
            ))
            if written != 1:
                log.warning("lease lost before the outcome was recorded", extra={"action": claim.id})
                return False
            audit.record(session, actor=ACTOR, action=audit_action, subject=claim.subject, clock=self._clock,
                         details={"action_id": claim.id, "kind": claim.kind, "target": claim.target,
                                  "attempt": claim.attempts, **details})
            return True


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
