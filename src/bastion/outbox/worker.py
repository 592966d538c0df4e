"""Leasing due outbox rows and recording outcomes, safely from any number of processes.

Candidates are selected with `FOR UPDATE SKIP LOCKED` on PostgreSQL, and each claim is a
conditional UPDATE that only succeeds while the row is still claimable, which is what
makes it safe on SQLite too. A claim counts the attempt (so a worker that keeps dying on
a row still uses attempts up) and is a lease with a fresh token; only the holder of the
current token may record an outcome, and a late worker's outcome is reported as lost.

No transaction is open while a row is attempted: subclasses claim, do their work, and
then call `_succeeded`, `_dead` or `_retry_later`.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bastion import audit
from bastion.clock import Clock
from bastion.executor.retry import RetryPolicy
from bastion.outbox.queue import Queue
from bastion.outbox.table import rowcount

W = TypeVar("W")
_CANDIDATES = 8


@dataclass
class OutboxReport:
    """What one pass did, by row id; each queue's report adds its own bucket for success."""

    retrying: list[int] = field(default_factory=list)
    dead: list[int] = field(default_factory=list)
    #: Outcomes not recorded because the lease had expired and another worker took over.
    lost: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Claim(Generic[W]):
    """A leased row: its lease token, the attempt this is, and the queue's own `work`."""

    id: int
    token: str
    attempts: int
    subject: str
    work: W


class LeaseWorker(Generic[W]):
    """Claims, dead-letters and settles rows of one `Queue`'s table.

    Subclasses set the class attributes and implement `_work` (what to carry out, read
    from the claimed row) and `_audit_details` (what every audit record of a claim says).
    The queue names the table, what a row is called in audit actions ("action" ->
    "action.dead") and log extras, and the audit detail naming the row ("action_id").
    """

    queue: ClassVar[Queue]
    #: The audit actor, e.g. "system:actions".
    actor: ClassVar[str]
    #: Said of a row whose last attempt never reported back, after "...timed out); ".
    abandoned_note: ClassVar[str]
    log: ClassVar[logging.Logger]

    def __init__(self, sessions: sessionmaker[Session], clock: Clock, policy: RetryPolicy, *,
                 name: str | None = None, rng: random.Random | None = None) -> None:
        self.table, self.noun, self.id_detail = self.queue.table, self.queue.noun, self.queue.id_detail
        self._sessions, self._clock, self.policy = sessions, clock, policy
        self.name = (name or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}")[:100]
        self._rng = rng or random.Random()

    # -- hooks --------------------------------------------------------------------

    def _work(self, row: Any) -> W:
        raise NotImplementedError

    def _audit_details(self, claim: Claim[W]) -> dict[str, Any]:
        raise NotImplementedError

    # -- claiming -----------------------------------------------------------------

    def _claimable(self, now: datetime) -> ColumnElement[bool]:
        m, t = self.table.model, self.table
        return or_(
            and_(m.status.in_(t.waiting), m.next_attempt_at <= now),
            and_(m.status == t.in_flight, m.lease_until <= now, m.attempts < self.policy.max_attempts),
        )

    def _claim_next(self, row_id: int | None = None) -> Claim[W] | None:
        """Lease one due row (skipping rows other workers hold) and return what to do.

        With `row_id` (a task carrying one outbox id), only that row, and only if it is due and
        not leased: a duplicate or late message finds it done, or held by another worker, and
        does nothing.
        """
        m, now = self.table.model, self._clock.now()
        claimable = self._claimable(now)
        with self._sessions() as session, session.begin():
            query = select(m.id).where(claimable)
            if row_id is not None:
                query = query.where(m.id == row_id)
            candidates = session.scalars(
                query.order_by(m.next_attempt_at, m.id).limit(_CANDIDATES).with_for_update(skip_locked=True)
            ).all()
            for row_id in candidates:
                token = uuid.uuid4().hex
                claimed = rowcount(session.execute(
                    update(m).where(m.id == row_id, claimable)
                    .values(status=self.table.in_flight, attempts=m.attempts + 1, lease_until=now + self.policy.lease,
                            leased_by=self.name, lease_token=token, updated_at=now)
                    .execution_options(synchronize_session=False)
                ))
                if claimed == 1:
                    row = session.get_one(m, row_id, populate_existing=True)
                    return Claim(row.id, token, row.attempts, getattr(row, self.table.subject), self._work(row))
        return None

    def orphans(self, grace: timedelta, limit: int = 500) -> list[int]:
        """Rows due now that may have no task message: what the sweeper publishes a message for.

        A new row's message is written with it, so a `pending` row is an orphan only once it has
        waited `grace` (its message was lost: a purged queue, a broker that lost it). A retrying row
        has no message (its retry time is the row's, not the broker's), nor has a row whose lease
        ran out (its worker died; the broker's redelivery found it leased and let it be). Rows a
        worker kept dying on are dead-lettered first.
        """
        self._bury_abandoned(OutboxReport())
        m, t, now = self.table.model, self.table, self._clock.now()
        orphaned = or_(
            and_(m.status == t.retrying, m.next_attempt_at <= now),
            and_(m.status == t.pending, m.next_attempt_at <= now - grace),
            and_(m.status == t.in_flight, m.lease_until <= now, m.attempts < self.policy.max_attempts),
        )
        with self._sessions() as session:
            return list(session.scalars(select(m.id).where(orphaned).order_by(m.next_attempt_at, m.id).limit(limit)))

    def _bury_abandoned(self, report: OutboxReport) -> None:
        """Dead-letter rows whose last allowed attempt never reported back (a worker kept dying on them)."""
        m, t, now = self.table.model, self.table, self._clock.now()
        abandoned = and_(m.status == t.in_flight, m.lease_until <= now, m.attempts >= self.policy.max_attempts)
        with self._sessions() as session, session.begin():
            rows = session.execute(
                select(m.id, t.column(t.subject), m.attempts).where(abandoned).with_for_update(skip_locked=True)
            ).all()
            for row_id, subject, attempts in rows:
                error = (f"no outcome was recorded for attempt {attempts} of {self.policy.max_attempts} "
                         f"(the worker died or timed out); {self.abandoned_note}")
                buried = rowcount(session.execute(
                    update(m).where(m.id == row_id, abandoned)
                    .values(status=t.dead, last_error=error, updated_at=now, lease_until=None, lease_token=None,
                            **self._finished(now))
                    .execution_options(synchronize_session=False)
                ))
                if buried == 1:
                    audit.record(session, actor=self.actor, action=f"{self.noun}.dead", subject=subject,
                                 clock=self._clock,
                                 details={self.id_detail: row_id, "attempts": attempts, "error": error})
                    report.dead.append(row_id)

    # -- outcomes -----------------------------------------------------------------

    def _dead(self, claim: Claim[W], error: str, report: OutboxReport) -> None:
        """A permanent failure, or the last attempt failed: a dead letter an operator may requeue."""
        self._settle(claim, report.dead, report, f"{self.noun}.dead", {"error": error},
                     status=self.table.dead, last_error=error, **self._finished(self._clock.now()))

    def _retry_later(self, claim: Claim[W], error: str, exc: Exception, report: OutboxReport,
                     retry_after: float | None = None) -> None:
        """Schedule the next attempt with backoff and jitter, or give up if that was the last one."""
        if claim.attempts >= self.policy.max_attempts:
            self._dead(claim, self._gave_up(claim, error), report)
            return
        when = self._clock.now() + self.policy.delay(claim.attempts, self._rng, retry_after)
        self.log.warning(f"{self.noun} delivery will be retried",
                         extra={self.noun: claim.id, "attempt": claim.attempts, "error": type(exc).__name__})
        self._settle(claim, report.retrying, report, f"{self.noun}.retry",
                     {"error": error, "next_attempt_at": when.isoformat()},
                     status=self.table.retrying, last_error=error, next_attempt_at=when)

    def _gave_up(self, claim: Claim[W], error: str) -> str:
        return f"gave up after {claim.attempts} attempts; last error: {error}"

    def _settle(self, claim: Claim[W], bucket: list[int], report: OutboxReport, audit_action: str,
                details: dict[str, Any], **values: Any) -> bool:
        """Write an outcome and its audit record, if this worker still holds the lease.

        The row's id goes to `bucket` if it was written, to `report.lost` if another worker
        has taken the row over since (its outcome, not ours, is the one that counts).
        """
        m, now = self.table.model, self._clock.now()
        with self._sessions() as session, session.begin():
            written = rowcount(session.execute(
                update(m).where(m.id == claim.id, m.status == self.table.in_flight, m.lease_token == claim.token)
                .values(lease_until=None, lease_token=None, updated_at=now, **values)
                .execution_options(synchronize_session=False)
            ))
            if written != 1:
                self.log.warning("lease lost before the outcome was recorded", extra={self.noun: claim.id})
                report.lost.append(claim.id)
                return False
            audit.record(session, actor=self.actor, action=audit_action, subject=claim.subject, clock=self._clock,
                         details={**self._audit_details(claim), **details})
            bucket.append(claim.id)
            return True

    def _finished(self, now: datetime) -> dict[str, Any]:
        return {} if self.table.finished is None else {self.table.finished: now}
