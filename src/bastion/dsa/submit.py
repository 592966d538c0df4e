"""Sending pending statements in batches: retried with backoff, never duplicated.

Idempotency is the API's own: each statement's puid. A batch whose answer was lost (a timeout, a
5xx after the database had written it) is sent again; the statements it did create come back as
puid duplicates, and take the uuid the database already holds instead of being filed twice. A
statement the database refuses for any other reason is marked `refused` with the API's words, and
the rest of its batch (which the API did not create either) goes again at once.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bastion import audit
from bastion.clock import Clock
from bastion.dsa.client import BatchAnswer, DsaUnavailable, duplicate_only
from bastion.dsa.models import DsaStatement
from bastion.dsa.schema import BATCH_LIMIT

FIRST_BACKOFF = timedelta(minutes=1)
MAX_BACKOFF = timedelta(hours=1)
ACTOR = "system:dsa"


class Database(Protocol):
    def submit(self, statements: list[dict]) -> BatchAnswer: ...  # type: ignore[type-arg]
    def existing(self, puid: str) -> str | None: ...


def backoff(attempts: int) -> timedelta:
    return min(FIRST_BACKOFF * (2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def due(session: Session, clock: Clock, limit: int) -> list[DsaStatement]:
    return list(session.scalars(select(DsaStatement).where(
        DsaStatement.status == "pending",
        or_(DsaStatement.next_attempt_at.is_(None), DsaStatement.next_attempt_at <= clock.now()))
        .order_by(DsaStatement.id).limit(limit)))


def _submitted(row: DsaStatement, uuid: str, clock: Clock) -> None:
    row.status, row.uuid, row.submitted_at, row.next_attempt_at, row.last_error = (
        "submitted", uuid, clock.now(), None, "")


def send_batch(session: Session, db: Database, rows: list[DsaStatement], clock: Clock) -> dict[str, int]:
    """Send `rows` until each is submitted, refused, or (the database being away) rescheduled."""
    tally = {"submitted": 0, "already_held": 0, "refused": 0, "retry_later": 0}
    while rows:
        for row in rows:
            row.attempts += 1
        try:
            answer = db.submit([dict(r.payload) for r in rows])
        except DsaUnavailable as exc:
            for row in rows:
                row.last_error, row.next_attempt_at = str(exc), clock.now() + backoff(row.attempts)
            tally["retry_later"] += len(rows)
            break
        if not answer.errors:  # 201 Created: the whole batch
            for row in rows:
                _submitted(row, answer.created.get(row.puid, ""), clock)
            tally["submitted"] += len(rows)
            break
        if not any(0 <= index < len(rows) for index in answer.errors):
            for row in rows:  # errors that name no statement of ours: wait, and let a person look at the log
                row.last_error = f"The database refused the batch without naming a statement: {answer.errors}"[:2000]
                row.next_attempt_at = clock.now() + backoff(row.attempts)
            tally["retry_later"] += len(rows)
            break
        again: list[DsaStatement] = []
        for index, row in enumerate(rows):
            problems = answer.errors.get(index)
            if problems is None:
                again.append(row)  # valid, but the API creates none of a batch with an error in it
            elif duplicate_only(problems):
                _submitted(row, db.existing(row.puid) or "", clock)
                tally["already_held"] += 1
            else:
                row.status, row.next_attempt_at = "refused", None
                row.last_error = "; ".join(f"{k}: {' '.join(v)}" for k, v in sorted(problems.items()))
                tally["refused"] += 1
        rows = again
    return tally


def submit_pending(session: Session, db: Database, clock: Clock, *, batch_size: int = BATCH_LIMIT,
                   max_batches: int = 50) -> dict[str, int]:
    """Send every due statement, a batch at a time; stop at the first batch the database did not take."""
    total = {"submitted": 0, "already_held": 0, "refused": 0, "retry_later": 0, "batches": 0}
    for _ in range(max_batches):
        rows = due(session, clock, min(batch_size, BATCH_LIMIT))
        if not rows:
            break
        tally = send_batch(session, db, rows, clock)
        total["batches"] += 1
        for key, value in tally.items():
            total[key] += value
        audit.record(session, actor=ACTOR, action="dsa.batch", subject="dsa:statements", clock=clock,
                     details={"puids": [r.puid for r in rows], **tally})
        session.flush()
        if tally["retry_later"]:
            break
    return total
